// `provision set name=value…`: the parameters checked, turned into pgha's dynamic-config patch
// and into one SQL condition that is true on a server already running with all of them.
import Foundation

public struct ParameterChange: Equatable, Sendable {
    public var parameters: [(name: String, value: String)]

    public static func == (a: ParameterChange, b: ParameterChange) -> Bool {
        a.parameters.map { "\($0.name)=\($0.value)" } == b.parameters.map { "\($0.name)=\($0.value)" }
    }

    /// Parses `name=value` arguments. Names are Postgres GUC names (letters, digits, `_`, one
    /// optional `.` for extension settings); a name given twice or an empty value is refused.
    public init(arguments: [String]) throws {
        guard !arguments.isEmpty else { throw WorkflowError("set: give at least one parameter as name=value") }
        var seen = Set<String>()
        parameters = []
        for argument in arguments {
            guard let eq = argument.firstIndex(of: "=") else {
                throw WorkflowError("set: '\(argument)' is not name=value")
            }
            let name = argument[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = argument[argument.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard name.range(of: #"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$"#, options: .regularExpression) != nil else {
                throw WorkflowError("set: '\(name)' is not a Postgres parameter name")
            }
            guard !value.isEmpty else { throw WorkflowError("set: \(name) has an empty value") }
            guard seen.insert(name).inserted else { throw WorkflowError("set: \(name) is given twice") }
            parameters.append((name, value))
        }
    }

    /// The parameters object of PATCH /config: integers as JSON numbers (as Patroni writes them),
    /// everything else as strings; keys in the order given.
    public var parametersJSON: String {
        "{" + parameters.map { p in
            let value = p.value.range(of: #"^-?[0-9]+$"#, options: .regularExpression) != nil ? p.value : Self.jsonString(p.value)
            return Self.jsonString(p.name) + ": " + value
        }.joined(separator: ", ") + "}"
    }

    /// The whole merge patch for pgha's dynamic config.
    public var configPatchJSON: String { "{\"postgresql\": {\"parameters\": \(parametersJSON)}}" }

    /// True on a server whose running values are these. Values are compared as `SHOW` prints
    /// them (case-insensitive; on/off for the boolean words Postgres accepts).
    public var liveSQL: String {
        parameters.map { p in
            "lower(current_setting(\(Self.sqlString(p.name)))) = \(Self.sqlString(Self.normalized(p.value)))"
        }.joined(separator: " and ")
    }

    static func normalized(_ value: String) -> String {
        switch value.lowercased() {
        case "true", "yes", "on": return "on"
        case "false", "no", "off": return "off"
        default:
            // Quotes around a whole value are the user's, not part of it.
            var v = value
            if v.count >= 2, v.hasPrefix("'"), v.hasSuffix("'") { v = String(v.dropFirst().dropLast()) }
            return v.lowercased()
        }
    }

    static func sqlString(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    static func jsonString(_ s: String) -> String { Values.quote(s) }
}

/// A workflow refused or failed, in words an operator acts on (host, parameter, reason).
public struct WorkflowError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
