/*
 * support/su_file.h - opening a file that is to be read whole: a regular file only, and no
 * hang on a FIFO or a device on the way. Not installed.
 */
#ifndef SM_SUPPORT_FILE_H
#define SM_SUPPORT_FILE_H

#include <sys/stat.h>

/**
 * Open @path for reading when it is a regular file, its status into *@st: the descriptor
 * (close-on-exec; the caller closes it), or -errno of open(), fstat() or fcntl(), or -EINVAL
 * when it is not a regular file (a FIFO, a directory, a device). The open is non-blocking, so
 * that a FIFO without a writer does not hang it, and the descriptor is made blocking again
 * before it is returned; a terminal does not become the controlling one.
 */
int su_open_regular(const char *path, struct stat *st);

#endif
