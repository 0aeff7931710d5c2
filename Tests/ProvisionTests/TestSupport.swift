import Foundation

/// A temporary directory removed when the test is done (`defer { dir.remove() }`).
struct TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "provision-test-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    /// Writes `text` to `name` (intermediate directories created) and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let full = path + "/" + name
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        return full
    }
    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: path + "/" + name).map { String(decoding: $0, as: UTF8.self) }
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
