# `cmake --install <build> --prefix P` lays out what other people build on:
#   P/include/mx/*.h            the C ABI (c_api.h, backend.h, extension.h, version.h, philox.h)
#                               and plugin.h, the C++ helper header for backend authors
#   P/include/dlpack/dlpack.h   the DLPack header those include
#   P/lib/libmx.so.<ABI major>  (SONAME follows the ABI major) and the libmx.so link
#   P/lib/mx/                   run-time parts: backend plugins, the image part, the KVStore
#                               transports; the installed libmx searches <its dir>/mx by default
#   P/bin/mx-info, P/bin/im2rec
#   P/lib/cmake/mx/             find_package(mx 1.x CONFIG): mx::mx (users), mx::plugin (plugin and
#                               extension authors: headers only, never libmx), MX_PLUGIN_DIR
#   P/lib/pkgconfig/mx.pc       pkg-config --cflags --libs mx
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MX_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mx)
set(MX_INSTALL_PLUGINDIR ${CMAKE_INSTALL_LIBDIR}/mx)

install(FILES
  ${PROJECT_SOURCE_DIR}/abi/include/mx/c_api.h ${PROJECT_SOURCE_DIR}/abi/include/mx/backend.h
  ${PROJECT_SOURCE_DIR}/abi/include/mx/extension.h ${PROJECT_SOURCE_DIR}/abi/include/mx/version.h
  ${PROJECT_SOURCE_DIR}/abi/include/mx/philox.h ${PROJECT_SOURCE_DIR}/backends/common/plugin.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mx COMPONENT dev)
install(FILES ${DLPACK_INCLUDE_DIR}/dlpack/dlpack.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dlpack COMPONENT dev)

# The runtime: executables find libmx one level up; plugins link no mx library at all.
set_target_properties(mx-info im2rec PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
install(TARGETS mx EXPORT mxTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS mx-info im2rec RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
foreach(part mx_backend_cpu mx_backend_cuda mx_image mx_kvstore_mpi mx_kvstore_nccl)
  if(TARGET ${part})
    # keep the run path to vendor libraries outside the system dirs (/usr/local/cuda/lib64)
    set_target_properties(${part} PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
    install(TARGETS ${part} LIBRARY DESTINATION ${MX_INSTALL_PLUGINDIR} COMPONENT runtime)
  endif()
endforeach()

# mx::plugin: the headers alone (a plugin exports its entry and never links libmx).
add_library(mx_plugin_headers INTERFACE)
set_target_properties(mx_plugin_headers PROPERTIES EXPORT_NAME plugin)
target_include_directories(mx_plugin_headers INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(mx PROPERTIES EXPORT_NAME mx)
install(TARGETS mx_plugin_headers EXPORT mxTargets)
install(EXPORT mxTargets NAMESPACE mx:: DESTINATION ${MX_INSTALL_CMAKEDIR} COMPONENT dev)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mxConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mxConfig.cmake INSTALL_DESTINATION ${MX_INSTALL_CMAKEDIR}
  PATH_VARS MX_INSTALL_PLUGINDIR CMAKE_INSTALL_INCLUDEDIR)
# The package's version is the ABI's: find_package(mx 1.4) accepts any 1.y with y >= 4.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mxConfigVersion.cmake
  VERSION ${MX_ABI_MAJOR}.${MX_ABI_MINOR} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mxConfig.cmake ${PROJECT_BINARY_DIR}/mxConfigVersion.cmake
  DESTINATION ${MX_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config, with paths relative to the .pc file so the prefix can move (lib/pkgconfig -> ../..,
# a multiarch lib/x86_64-linux-gnu/pkgconfig -> ../../..).
file(RELATIVE_PATH MX_PC_TO_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mx.pc.in ${PROJECT_BINARY_DIR}/mx.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mx.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
