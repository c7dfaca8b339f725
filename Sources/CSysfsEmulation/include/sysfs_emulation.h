#ifndef GEARBOX_SYSFS_EMULATION_H
#define GEARBOX_SYSFS_EMULATION_H

/// Returns 1: lets Swift code reference this target so that the linker keeps it.
int gearbox_sysfs_emulation_linked(void);

#endif
