// `pgha edit-config` / `show-config`: the `config` key as YAML, changed with -s / -p or in $EDITOR,
// shown as a diff, written with compare-and-swap so a concurrent change is never overwritten.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import LineDiff
import Spawn
import YAML

public enum ConfigEditor {
    /// JSON numbers as people write them: an integral Double (1.0, 1e3) as an Int.
    static func native(_ v: Any) -> Any {
        switch v {
        case let d as [String: Any]: return d.mapValues(native)
        case let a as [Any]: return a.map(native)
        case let d as Double: return d == d.rounded() && abs(d) < 1e15 ? Int(d) as Any : d
        default: return v
        }
    }

    /// YAML as people write it: keys sorted, 2.5 (not 2.5e+0), strings quoted only where needed.
    public static func yaml(_ json: String) -> String {
        let object = (try? JSONText.parse(json)) ?? [String: Any]()
        return (try? YAMLText.dump(native(object), isNull: { $0 is JSONNull })) ?? json
    }

    /// "a.b.c=value": the value read as a YAML scalar (numbers, true/false; null removes the key).
    public static func set(_ object: [String: Any], path: String, value: String) throws -> [String: Any] {
        let keys = path.split(separator: ".").map(String.init)
        guard !keys.isEmpty else { throw ControlError("-s \(path)=\(value): empty key") }
        let parsed: Any = (try? YAMLText.load(value, null: JSONNull())).flatMap { $0 } ?? JSONNull()
        if parsed is [Any] || parsed is [String: Any] { throw ControlError("-s \(path)=\(value): expected a scalar value") }
        func assign(_ o: [String: Any], _ rest: ArraySlice<String>) -> [String: Any] {
            var o = o
            let k = rest.first!
            if rest.count == 1 { o[k] = parsed is JSONNull ? nil : parsed } else {
                o[k] = assign(o[k] as? [String: Any] ?? [:], rest.dropFirst())
            }
            return o
        }
        return assign(object, keys[...])
    }

    /// A line diff in unified style, without context limits (blank lines left out).
    public static func diff(_ a: String, _ b: String) -> String {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let lines = LineDiff.ops(x, y).filter { !$0.1.isEmpty }.map { "\($0.0.rawValue) \($0.1)" }
        return (["--- before", "+++ after"] + lines).joined(separator: "\n")
    }

    /// Opens `editor` on `text` in a temp file and returns what was saved.
    public static func runEditor(_ editor: String, text: String) throws -> String {
        let path = temporaryDirectory() + "pgha-config-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The editor needs the terminal: stdin, stdout and stderr are ours.
        let pid: Int32
        do {
            pid = try Spawn.start("/bin/sh", ["-c", "\(editor) \"$1\"", "sh", path], environment: ProcessInfo.processInfo.environment,
                                  input: .inherit, output: .inherit)
        } catch { throw ControlError("cannot run editor \(editor): \(error); nothing changed") }
        let status = Spawn.wait(pid)
        guard status == 0 else { throw ControlError("editor \(editor) exited with status \(status); nothing changed") }
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// Applies the change and writes it if confirmed. Returns false when nothing changed.
    public static func edit(_ actions: ClusterActions, sets: [String], pgParams: [String], editor: String?) async throws -> Bool {
        let client = actions.client
        let kv: KeyValue?
        do { kv = try await client.store.readConfig() } catch {
            throw ControlError.unreachable("etcd unreachable at \(client.config.etcdEndpoints.joined(separator: ",")): \(error)")
        }
        let beforeJSON = kv?.value ?? "{}"
        var object = JSONText.object(beforeJSON) ?? [:]
        let beforeYAML = yaml(beforeJSON)
        if sets.isEmpty && pgParams.isEmpty {
            let edited = try runEditor(editor ?? "vi", text: beforeYAML)
            guard let parsed = try? YAMLText.load(edited, null: JSONNull()), let d = parsed as? [String: Any] else {
                throw ControlError("the edited configuration is not a YAML mapping; nothing changed")
            }
            object = d
        }
        for s in sets {
            guard let eq = s.firstIndex(of: "=") else { throw ControlError("-s \(s): expected key=value") }
            object = try set(object, path: String(s[..<eq]), value: String(s[s.index(after: eq)...]))
        }
        for p in pgParams {
            guard let eq = p.firstIndex(of: "=") else { throw ControlError("-p \(p): expected name=value") }
            object = try set(object, path: "postgresql.parameters." + p[..<eq], value: String(p[p.index(after: eq)...]))
        }
        let before = JSONText.object(beforeJSON) ?? [:]
        // The parameters the server here knows (the cluster runs the same bin_dir; a host without it is not checked).
        let server = await ServerParameters.load(binDir: client.config.postgres.binDir)
        if let problem = ConfigEdit.problem(object, before: before, server: server) { throw ControlError("config: \(problem); nothing changed") }
        if let note = ConfigEdit.timingNote(object) { actions.say("Warning: \(note)") }
        if let server, let restart = ConfigEdit.restartNote(before: before, after: object, server: server) { actions.say(restart) }
        let afterJSON = ConfigEdit.encode(object)
        let afterYAML = yaml(afterJSON)
        if afterYAML == beforeYAML { actions.say("Not changed"); return false }
        actions.say(diff(beforeYAML, afterYAML))
        guard actions.confirm("Apply these changes?") else { throw ControlError("aborted; nothing changed") }
        let written: Bool
        do { written = try await client.store.replaceConfig(afterJSON, ifRevision: kv?.modRevision ?? 0) } catch {
            throw ControlError.unreachable("etcd unreachable at \(client.config.etcdEndpoints.joined(separator: ",")): \(error)")
        }
        guard written else { throw ControlError("the configuration was changed by someone else meanwhile; nothing changed, run again") }
        actions.say("Configuration changed")
        return true
    }
}
