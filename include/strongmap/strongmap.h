/* strongmap/strongmap.h - umbrella header of libstrongmap. */
#ifndef STRONGMAP_STRONGMAP_H
#define STRONGMAP_STRONGMAP_H

#include <strongmap/altsecid.h>
#include <strongmap/audit.h>
#include <strongmap/cert.h>
#include <strongmap/common.h>
#include <strongmap/csr.h>
#include <strongmap/dir.h>
#include <strongmap/events.h>
#include <strongmap/json.h>
#include <strongmap/keycred.h>
#include <strongmap/mapwrite.h>
#include <strongmap/preissue.h>
#include <strongmap/sid.h>
#include <strongmap/state.h>
#include <strongmap/verdict.h>

/** Library version, "MAJOR.MINOR.PATCH". */
const char *sm_version(void);

#endif
