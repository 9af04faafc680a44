# Install rules: `cmake --install build` (or `make install`, which wraps it)
# puts the services, /etc/nexus/nexus.toml and the systemd units in place.
#
#   <prefix>/sbin/                      nexusd, nexus-auth, nexus-api, and
#                                       nexus-lambda-init beside nexusd (where
#                                       lambda.init_path looks by default)
#   <prefix>/bin/nexus                  the CLI, when it is built
#   <prefix>/share/nexus/web/           the web UI's files, when they exist
#   <prefix>/lib/systemd/system/        nexusd, nexus-auth, nexus-api units
#   <prefix>/lib/sysusers.d/nexus.conf  the `nexus` account
#   /etc/nexus/nexus.toml               commented defaults (NEXUS_SYSCONFDIR);
#                                       an existing one is left alone
#
# The units are written at install time from packaging/systemd/*.in, so they
# name the prefix actually installed to, also under `cmake --install --prefix`.
# DESTDIR is honoured by every rule.
include(GNUInstallDirs)

set(NEXUS_SYSCONFDIR "/etc" CACHE PATH
    "Where nexus/nexus.toml is installed and where the units look for it")

install(TARGETS nexusd nexus-auth nexus-api nexus-lambda-init
        RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
if(TARGET nexus)
  install(TARGETS nexus RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES src/cli/completion/nexus.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME nexus)
endif()
if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/web)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/nexus/web)
endif()
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/nexus.sysusers.conf DESTINATION lib/sysusers.d RENAME nexus.conf)

install(CODE "
  set(NEXUS_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(NEXUS_BINARY_DIR \"${PROJECT_BINARY_DIR}\")
  set(NEXUS_SYSCONFDIR \"${NEXUS_SYSCONFDIR}\")
  set(NEXUS_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
  set(NEXUS_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
")
install(SCRIPT cmake/NexusInstallFiles.cmake)
