# ctest driver: install the built tree into a scratch prefix, then build and run a consumer
# through find_package(qeq) and through pkg-config, as a downstream user would.
# Inputs: QEQ_BINARY_DIR, QEQ_SOURCE_DIR, WORK_DIR, C_COMPILER, CONSUMER_FLAGS (may be empty).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${QEQ_BINARY_DIR} --prefix ${prefix})

# find_package: shared and static.
run(${CMAKE_COMMAND} -S ${QEQ_SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER}
    "-DCMAKE_C_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib64
    ${WORK_DIR}/consumer/consumer_shared)
run(${WORK_DIR}/consumer/consumer_static)

# pkg-config.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB_RECURSE pc_files ${prefix}/*/qeq.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir}
                ${PKG_CONFIG} --cflags --libs qeq
                OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config cannot find qeq in ${pc_dir}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags} ${CONSUMER_FLAGS}")
run(${C_COMPILER} ${QEQ_SOURCE_DIR}/tests/install/consumer/main.c ${flags}
    -o ${WORK_DIR}/consumer_pkgconfig)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib64
    ${WORK_DIR}/consumer_pkgconfig)
