#ifndef GEARBOX_CCPUFREQ_SHIM_H
#define GEARBOX_CCPUFREQ_SHIM_H
#include <cpufreq.h>
#endif
