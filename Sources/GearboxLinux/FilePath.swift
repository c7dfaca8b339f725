/// Path arithmetic without Foundation (gearboxd links no Foundation but the essentials).
public enum FilePath {
    /// The directory part of `path`, as NSString's `deletingLastPathComponent` gives it:
    /// "/a/b" → "/a", "/b" → "/", "b" → "", trailing slashes ignored.
    public static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var parent = trimmed[..<slash]
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        return String(parent)
    }
}
