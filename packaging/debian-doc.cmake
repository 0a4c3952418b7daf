# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): what dh_installdocs, dh_installchangelogs and
# dh_lintian would add to each package's staging tree (one per component, CPACK_DEB_COMPONENT_INSTALL):
#   /usr/share/doc/PACKAGE/copyright           packaging/copyright (Debian policy 12.5)
#   /usr/share/doc/PACKAGE/changelog.Debian.gz packaging/changelog, gzip -9n (policy 12.7)
#   /usr/share/lintian/overrides/PACKAGE       packaging/PACKAGE.lintian-overrides, if it exists
# packaging/changelog's latest entry must carry the package's version (project version and
# CPACK_DEBIAN_PACKAGE_RELEASE): a new version without a changelog entry stops the build.
set(sm_dir "${CPACK_SM_PACKAGING_DIR}")
set(sm_version "${CPACK_PACKAGE_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")
file(STRINGS "${sm_dir}/changelog" sm_top LIMIT_COUNT 1)
if(NOT sm_top MATCHES "^[a-z0-9][a-z0-9.+-]* \\(([^)]+)\\) ")
    message(FATAL_ERROR "${sm_dir}/changelog: the first line is not a changelog entry: ${sm_top}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL sm_version)
    message(FATAL_ERROR "${sm_dir}/changelog: the latest entry is ${CMAKE_MATCH_1}, the package "
                        "${sm_version}: add an entry for ${sm_version}")
endif()

set(sm_file_mode OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(sm_dir_mode OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
    WORLD_EXECUTE)
# make_dirs(ROOT RELATIVE-PATH): every directory of the path, mode 755 whatever the umask
function(make_dirs root rel)
    string(REPLACE "/" ";" parts "${rel}")
    set(path "${root}")
    foreach(part IN LISTS parts)
        set(path "${path}/${part}")
        if(NOT IS_DIRECTORY "${path}")
            file(MAKE_DIRECTORY "${path}")
            file(CHMOD "${path}" DIRECTORY_PERMISSIONS ${sm_dir_mode})
        endif()
    endforeach()
endfunction()

foreach(component IN LISTS CPACK_COMPONENTS_ALL)
    string(TOUPPER "${component}" upper)
    set(package "${CPACK_DEBIAN_${upper}_PACKAGE_NAME}")
    if(NOT package)
        message(FATAL_ERROR "component ${component} has no CPACK_DEBIAN_${upper}_PACKAGE_NAME")
    endif()
    set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${component}")
    set(prefix "${CPACK_PACKAGING_INSTALL_PREFIX}")
    string(REGEX REPLACE "^/" "" prefix "${prefix}")

    make_dirs("${root}" "${prefix}/share/doc/${package}")
    set(doc "${root}/${prefix}/share/doc/${package}")
    # (file(COPY_FILE), not file(INSTALL): that would put the path under $DESTDIR again)
    file(COPY_FILE "${sm_dir}/copyright" "${doc}/copyright")
    file(CHMOD "${doc}/copyright" PERMISSIONS ${sm_file_mode})
    execute_process(COMMAND gzip -9nc INPUT_FILE "${sm_dir}/changelog"
                    OUTPUT_FILE "${doc}/changelog.Debian.gz" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "gzip ${sm_dir}/changelog failed: ${rc}")
    endif()
    file(CHMOD "${doc}/changelog.Debian.gz" PERMISSIONS ${sm_file_mode})

    if(EXISTS "${sm_dir}/${package}.lintian-overrides")
        make_dirs("${root}" "${prefix}/share/lintian/overrides")
        set(overrides "${root}/${prefix}/share/lintian/overrides/${package}")
        file(COPY_FILE "${sm_dir}/${package}.lintian-overrides" "${overrides}")
        file(CHMOD "${overrides}" PERMISSIONS ${sm_file_mode})
    endif()
endforeach()
