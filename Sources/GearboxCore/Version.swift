/// gearbox's version: `--version` of both binaries, `gearbox_version` in plan documents, and
/// the Debian package's version (scripts/package-deb reads it from this file).
public enum GearboxVersion {
    public static let string = "0.2.0"
}
