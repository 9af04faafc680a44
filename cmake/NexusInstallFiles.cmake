# Runs at install time (see NexusInstall.cmake): writes the systemd units for
# the prefix being installed to, and nexus.toml unless one is there already
# (it is the operator's file from then on).
foreach(dir NEXUS_SBINDIR NEXUS_DOCDIR)
  if(IS_ABSOLUTE "${${dir}}")
    set(${dir}_FULL "${${dir}}")
  else()
    set(${dir}_FULL "${CMAKE_INSTALL_PREFIX}/${${dir}}")
  endif()
endforeach()
set(NEXUS_BIN_DIR "${NEXUS_SBINDIR_FULL}")
set(NEXUS_DOC_DIR "${NEXUS_DOCDIR_FULL}")
set(NEXUS_CONFIG_FILE "${NEXUS_SYSCONFDIR}/nexus/nexus.toml")

set(units_dir "${NEXUS_BINARY_DIR}/packaging/systemd")
foreach(unit nexusd nexus-auth nexus-api)
  configure_file("${NEXUS_SOURCE_DIR}/packaging/systemd/${unit}.service.in"
                 "${units_dir}/${unit}.service" @ONLY)
endforeach()
file(INSTALL "${units_dir}/nexusd.service" "${units_dir}/nexus-auth.service"
     "${units_dir}/nexus-api.service"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")

set(config_dest "$ENV{DESTDIR}${NEXUS_CONFIG_FILE}")
if(EXISTS "${config_dest}")
  message(STATUS "Kept: ${config_dest}")
else()
  file(INSTALL "${NEXUS_SOURCE_DIR}/packaging/nexus.toml"
       DESTINATION "${NEXUS_SYSCONFDIR}/nexus" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
