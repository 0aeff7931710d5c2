// Helpers for the operations' end-to-end tests: run the `pgha` control CLI as a user would, make a
// replica lag for real, and wait (bounded) for cluster states.
import AgentCore
import Fixtures
import Foundation
import PQ
#if canImport(Glibc)
import Glibc
#endif

struct CLIResult {
    var status: Int32
    var out: String
    var err: String
}

/// REST basic auth the ops tests put into every member's configuration.
let opsAuth = (user: "admin", password: "pw-rest-test")

extension AgentCluster {
    /// Adds restapi.authentication to every member's configuration (before the agents start).
    func requireRESTAuth() throws {
        for m in members {
            var text = try String(contentsOfFile: m.configPath, encoding: .utf8)
            text = text.replacingOccurrences(of: "  connect_address: 127.0.0.1:\(m.restPort)\n",
                                             with: "  connect_address: 127.0.0.1:\(m.restPort)\n  authentication: {username: \(opsAuth.user), password: \(opsAuth.password)}\n")
            try text.write(toFile: m.configPath, atomically: false, encoding: .utf8)
        }
    }

    /// Runs `pgha ARGS -c <first member's config>` and returns its exit status and output (bounded).
    func cli(_ args: [String], timeout: Double = 120, quiet: Bool = false) throws -> CLIResult {
        let dir = try makeTempDir("pgha-cli")
        defer { removeTree(dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args + ["-c", members[0].configPath]
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        if !waitUntil(timeout: timeout, interval: 0.1, { !p.isRunning }) {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw FixtureError("pgha \(args.joined(separator: " ")) did not finish within \(timeout) s")
        }
        p.waitUntilExit()
        let out = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        if !quiet { print("$ pgha \(args.joined(separator: " "))\n\(out)\(err)", terminator: "") }
        return CLIResult(status: p.terminationStatus, out: out, err: err)
    }

    /// A raw HTTP request to a member's REST API (curl is not needed: one socket, HTTP/1.0).
    func http(_ name: String, _ method: String, _ path: String, body: String? = nil, auth: Bool = true) -> (status: Int, body: String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(member(name).restPort).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { return nil }
        var head = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
        if auth { head += "Authorization: Basic \(Data("\(opsAuth.user):\(opsAuth.password)".utf8).base64EncodedString())\r\n" }
        let payload = Array((head + "Content-Length: \(body?.utf8.count ?? 0)\r\n\r\n" + (body ?? "")).utf8)
        guard send(fd, payload, payload.count, 0) == payload.count else { return nil }
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        guard let fields = parts.first?.split(separator: "\r\n").first?.split(separator: " "), fields.count >= 2, let code = Int(fields[1]) else { return nil }
        return (code, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Waits (bounded) until `body` returns a value; the failure names `what` and shows the logs.
    func eventually<T>(_ timeout: Double, _ what: String, _ body: () -> T?) throws -> T {
        var result: T?
        _ = waitUntil(timeout: timeout, interval: 0.2) { result = body(); return result != nil }
        guard let result else { throw FixtureError("timed out after \(timeout) s waiting for \(what)\n\(logs())") }
        return result
    }

    func streaming(on primary: String) -> Set<String> {
        guard let conn = try? connect(primary),
              let r = try? conn.query("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'") else { return [] }
        return Set(r.rows.compactMap { $0[0] })
    }

    /// Up: one primary and every other member streaming from it; returns the primary.
    func healthy(timeout: Double = 90) throws -> String {
        try eventually(timeout, "one primary with every other member streaming") { () -> String? in
            guard let p = primary() else { return nil }
            return streaming(on: p) == Set(members.map(\.name)).subtracting([p]) ? p : nil
        }
    }
}
