// The Patroni dynamic-configuration keys that set `Timing`, written once: the patroni.yml loader
// (bootstrap.dcs), the `config` key's writer and reader, and edit-config's check all walk this list.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public enum PatroniTimingKeys {
    /// Which `Timing` field a key sets, and in what unit.
    public enum Field {
        case seconds(WritableKeyPath<Timing, Double>)
        case bytes(WritableKeyPath<Timing, Int64>)
    }

    /// Key → field, in the order Patroni's documentation lists them.
    nonisolated(unsafe) public static let all: [(key: String, field: Field)] = [
        ("ttl", .seconds(\.ttl)),
        ("loop_wait", .seconds(\.loopWait)),
        ("retry_timeout", .seconds(\.retryTimeout)),
        ("maximum_lag_on_failover", .bytes(\.maximumLagOnFailover)),
        ("primary_start_timeout", .seconds(\.primaryStartTimeout)),
    ]

    public static func field(_ key: String) -> Field? { all.first { $0.key == key }?.field }

    /// The keys as JSON values, for the `config` key.
    public static func json(_ t: Timing) -> [String: Any] {
        var object: [String: Any] = [:]
        for (key, field) in all {
            switch field {
            case let .seconds(path): object[key] = t[keyPath: path]
            case let .bytes(path): object[key] = t[keyPath: path]
            }
        }
        return object
    }

    /// Sets every key `object` holds as a number on `t`; a value that is not a number is skipped
    /// (`t` keeps its own) and the first such is returned as a problem naming its key.
    @discardableResult
    public static func apply(_ object: [String: Any], to t: inout Timing) -> String? {
        var problem: String?
        for (key, field) in all {
            guard let v = object[key] else { continue }
            guard ConfigEdit.isNumber(v), let seconds = JSONNumber.double(v), let bytes = JSONNumber.truncatedInt64(v) else {
                let unit = if case .bytes = field { "a number of bytes" } else { "a number" }
                problem = problem ?? "\(key): expected \(unit), got \(v)"
                continue
            }
            switch field {
            case let .seconds(path): t[keyPath: path] = seconds
            case let .bytes(path): t[keyPath: path] = bytes
            }
        }
        return problem
    }
}
