import GearboxLinux

/// The real host: libcpufreq, /proc/stat and the dither (GearboxLinux).
extension LinuxHost: AgentHost {}
