# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): compress the man pages in the staging tree
# as Debian policy 12.1 asks (gzip -9n: best compression, no name or time stamp in the header,
# so the package is reproducible). Runs after the install into the staging directory, which
# holds one tree per component (CPACK_DEB_COMPONENT_INSTALL).
set(pages)
foreach(component IN LISTS CPACK_COMPONENTS_ALL)
    file(GLOB_RECURSE component_pages "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${component}${CPACK_PACKAGING_INSTALL_PREFIX}/share/man/*")
    list(APPEND pages ${component_pages})
endforeach()
foreach(page IN LISTS pages)
    if(page MATCHES "/man[1-9]/[^/]+\\.[1-9][a-z]*$" AND NOT IS_SYMLINK "${page}")
        execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "gzip ${page} failed: ${rc}")
        endif()
    endif()
endforeach()
