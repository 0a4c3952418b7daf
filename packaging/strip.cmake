# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): strip as dh_strip does. CPACK_STRIP_FILES has
# already stripped the programs' symbols; this removes what it leaves (the compiler's .comment
# and .note sections) and strips the debugging information from static libraries, keeping
# their symbols (strip --strip-debug, deterministic archive). Runs on every component's tree.
find_program(sm_strip NAMES strip REQUIRED)
foreach(component IN LISTS CPACK_COMPONENTS_ALL)
    set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${component}")
    file(GLOB_RECURSE files LIST_DIRECTORIES false "${root}/*")
    foreach(f IN LISTS files)
        if(IS_SYMLINK "${f}")
            continue()
        endif()
        if(f MATCHES "\\.a$")
            set(args --strip-debug --remove-section=.comment --remove-section=.note
                     --enable-deterministic-archives)
        else()
            # ELF files only: their first four bytes are 7f 'E' 'L' 'F'
            file(READ "${f}" magic LIMIT 4 HEX)
            if(NOT magic STREQUAL "7f454c46")
                continue()
            endif()
            set(args --remove-section=.comment --remove-section=.note)
        endif()
        execute_process(COMMAND "${sm_strip}" ${args} "${f}" RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "strip ${args} ${f} failed: ${rc}")
        endif()
    endforeach()
endforeach()
