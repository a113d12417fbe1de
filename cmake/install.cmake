# install.cmake -- `cmake --install`: daemon, CLI, library, headers,
# pkg-config and CMake package files, systemd units, example config, man
# pages and bash completion, in their usual places under
# CMAKE_INSTALL_PREFIX (GNUInstallDirs), honouring DESTDIR.
#
# A system build is configured with
#   -DPAGEMAP_EMBEDDED_DEFAULT=OFF -DPAGEMAP_CRASH_POINTS=OFF
# (the first makes /run/pagemapd/pagemapd.sock the default socket, the
# second leaves the crash-test hook out of the daemon).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PAGEMAP_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
	"systemd system unit directory (relative: under the prefix)")
set(PAGEMAP_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
	"sysusers.d directory (relative: under the prefix)")
set(PAGEMAP_BASH_COMPLETIONDIR
	"${CMAKE_INSTALL_DATADIR}/bash-completion/completions" CACHE STRING
	"bash completion directory (relative: under the prefix)")

# A crash-point build lets an environment variable stop the daemon in the
# middle of a transaction: never install one. An embedded-default build
# would point clients at a socket inside its checkout: warn.
if(PAGEMAP_CRASH_POINTS)
	install(CODE "message(FATAL_ERROR \"pagemapd: this build has the \
crash-point test hook; reconfigure with -DPAGEMAP_CRASH_POINTS=OFF \
-DPAGEMAP_EMBEDDED_DEFAULT=OFF before installing\")")
endif()
if(PAGEMAP_EMBEDDED_DEFAULT)
	install(CODE "message(WARNING \"pagemapd: installing a build whose \
default socket is ${PAGEMAP_DEFAULT_SOCKET}; a system install wants \
-DPAGEMAP_EMBEDDED_DEFAULT=OFF\")")
endif()

# --- programs and the library ---
set_target_properties(pagemap PROPERTIES
	PUBLIC_HEADER ${CMAKE_SOURCE_DIR}/include/pagemap.h)
install(TARGETS pagemapd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS pagemapctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS pagemap EXPORT pagemapTargets
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
	PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
	INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The static library is not in the export set: its private dependencies
# are pkg-config imported targets, which cannot be exported.
# pagemapConfig.cmake declares pagemap::pagemap_static by hand.
install(TARGETS pagemap_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# --- pkg-config ---
foreach(d LIBDIR INCLUDEDIR)
	if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
		set(PC_${d} "${CMAKE_INSTALL_${d}}")
	else()
		set(PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
	endif()
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/cmake/libpagemap.pc.in
	${CMAKE_BINARY_DIR}/libpagemap.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/libpagemap.pc
	DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# --- CMake package: find_package(pagemap) -> pagemap::pagemap ---
set(PAGEMAP_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pagemap)
install(EXPORT pagemapTargets NAMESPACE pagemap::
	DESTINATION ${PAGEMAP_CMAKEDIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/pagemapConfig.cmake.in
	${CMAKE_BINARY_DIR}/pagemapConfig.cmake
	INSTALL_DESTINATION ${PAGEMAP_CMAKEDIR}
	PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/pagemapConfigVersion.cmake
	VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/pagemapConfig.cmake
	${CMAKE_BINARY_DIR}/pagemapConfigVersion.cmake
	DESTINATION ${PAGEMAP_CMAKEDIR})

# --- systemd units and the system user ---
# The units in systemd/ name /usr/sbin/pagemapd and /etc/pagemapd/; the
# installed copies name where this prefix puts them.
foreach(unit pagemapd.service pagemapd.socket)
	file(READ ${CMAKE_SOURCE_DIR}/systemd/${unit} text)
	string(REPLACE "/usr/sbin/pagemapd"
		"${CMAKE_INSTALL_FULL_SBINDIR}/pagemapd" text "${text}")
	string(REPLACE "/etc/pagemapd/"
		"${CMAKE_INSTALL_FULL_SYSCONFDIR}/pagemapd/" text "${text}")
	file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/systemd/${unit}
		CONTENT "${text}")
	install(FILES ${CMAKE_BINARY_DIR}/systemd/${unit}
		DESTINATION ${PAGEMAP_SYSTEMD_UNITDIR})
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
	${CMAKE_SOURCE_DIR}/systemd/pagemapd.service
	${CMAKE_SOURCE_DIR}/systemd/pagemapd.socket)
install(FILES ${CMAKE_SOURCE_DIR}/systemd/pagemapd.sysusers
	DESTINATION ${PAGEMAP_SYSUSERSDIR} RENAME pagemapd.conf)

# --- the example config: never overwrite one an administrator edited ---
install(CODE "
set(conf \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_SYSCONFDIR}/pagemapd/pagemapd.conf\")
if(EXISTS \"\${conf}\")
	message(STATUS \"Keeping: \${conf}\")
else()
	file(INSTALL \"${CMAKE_SOURCE_DIR}/systemd/pagemapd.conf\"
		DESTINATION \"${CMAKE_INSTALL_FULL_SYSCONFDIR}/pagemapd\"
		PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()")

# --- documentation and completion ---
install(FILES ${CMAKE_SOURCE_DIR}/man/pagemapd.8
	${CMAKE_SOURCE_DIR}/man/pagemapctl.8
	DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_SOURCE_DIR}/man/libpagemap.3
	DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
# One page name per function of the public header, each opening
# libpagemap(3), whose sections go by group (`man pagemap_map` works).
file(STRINGS ${CMAKE_SOURCE_DIR}/include/pagemap.h PAGEMAP_DECLS
	REGEX "^[a-z].*[ *]pagemap_[a-z_]+\\(")
set(PAGEMAP_MAN_ALIASES)
foreach(decl ${PAGEMAP_DECLS})
	string(REGEX MATCH "pagemap_[a-z_]+\\(" fn "${decl}")
	string(REPLACE "(" "" fn "${fn}")
	set(alias ${CMAKE_BINARY_DIR}/man3/${fn}.3)
	file(WRITE ${alias} ".so man3/libpagemap.3\n")
	list(APPEND PAGEMAP_MAN_ALIASES ${alias})
endforeach()
list(REMOVE_DUPLICATES PAGEMAP_MAN_ALIASES)
install(FILES ${PAGEMAP_MAN_ALIASES}
	DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
install(FILES ${CMAKE_SOURCE_DIR}/man/pagemapd.conf.5
	DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CMAKE_SOURCE_DIR}/completion/pagemapctl.bash
	DESTINATION ${PAGEMAP_BASH_COMPLETIONDIR} RENAME pagemapctl)
