# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): compress the man pages in the staging tree
# as Debian policy 12.1 asks (gzip -9n: best compression, no name or time stamp in the header,
# so the package is reproducible). Runs after the install into the staging directory.
file(GLOB_RECURSE pages
     "${CPACK_TEMPORARY_INSTALL_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}/share/man/*")
foreach(page IN LISTS pages)
    if(page MATCHES "/man[1-9]/[^/]+\\.[1-9][a-z]*$" AND NOT IS_SYMLINK "${page}")
        execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "gzip ${page} failed: ${rc}")
        endif()
    endif()
endforeach()
