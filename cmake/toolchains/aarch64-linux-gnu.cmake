# Cross build for aarch64 Linux with Debian's cross compiler (gcc-aarch64-linux-gnu) and
# arm64 multiarch libraries (libcmocka-dev:arm64, libbenchmark-dev:arm64); see
# scripts/install-deps.sh --aarch64. Tests run under qemu-user: ctest calls the emulator,
# and QEMU_CPU in the environment picks the CPU model (e.g. max, cortex-a72).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Headers and libraries from the cross sysroot and the arm64 multiarch directories only;
# programs (cmake, nm) from the host.
# pthreadpool:arm64 cannot be installed beside the native one; install-deps.sh --aarch64
# unpacks it under /opt/qeq-arm64-pthreadpool (the build RPATH then finds it under qemu).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /opt/qeq-arm64-pthreadpool)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_NM aarch64-linux-gnu-nm)

# The emulated programs load the arm64 multiarch C library (/lib/ld-linux-aarch64.so.1,
# libc6:arm64), the one libcmocka:arm64 was built against. Not `-L /usr/aarch64-linux-gnu`:
# that mixes the cross package's ld.so with the multiarch libc, and pthread_create hangs.
find_program(QEQ_QEMU_AARCH64 qemu-aarch64)
if(QEQ_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QEQ_QEMU_AARCH64})
endif()
