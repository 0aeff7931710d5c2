import Foundation

/// Where something was written: a file and, when known, the line and column (1-based).
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int = 0, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String {
        line > 0 ? "\(file):\(line):\(column)" : file
    }
}

/// A user-facing error: what is wrong and where (file:line:column, key, host). Errors are
/// values; nothing in the engine traps on bad input.
public struct ProvisionError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var location: SourceLocation?

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}

/// An expression or template referred to a variable that is not defined. Carries the variable's
/// name and where it was used, so the failing task can say both.
public struct UndefinedVariableError: Error, CustomStringConvertible, Equatable {
    public var name: String
    public var location: String?
    public init(name: String, location: String? = nil) {
        self.name = name
        self.location = location
    }
    public var description: String {
        if let location { return "undefined variable '\(name)' in \(location)" }
        return "undefined variable '\(name)'"
    }
}
