import Foundation

/// Why a lab operation could not be done. The message names the lab, host, key or command so the
/// user can act on it; nothing was changed unless the message says so.
public struct LabError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func notRoot() -> LabError {
        LabError("provision lab must run as root (it creates bridges, network namespaces, overlay mounts and containers); run it with sudo")
    }

    /// A tool the lab needs is missing; names the Debian package that provides it.
    static func missingTool(_ tool: String, package: String) -> LabError {
        LabError("\(tool) not found: install it with `apt-get install \(package)`")
    }
}
