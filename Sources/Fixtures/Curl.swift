// HTTPS requests from tests through curl, an independent TLS client (OpenSSL) to judge ours. The body
// and headers go through files, never argv, because they may carry passwords or tokens.
import Foundation
import Spawn

public struct CurlAnswer: Sendable {
    /// curl's exit code: 0 when an HTTP answer came back (35/56/58/60…: TLS refused or failed).
    public var exitCode: Int32
    public var status: Int
    public var body: String
}

public func curl(_ url: String, method: String = "GET", cacert: String? = nil, cert: String? = nil, key: String? = nil,
                 body: String? = nil, headers: [String: String] = [:], timeout: Int = 5) throws -> CurlAnswer {
    let dir = try makeTempDir("pgha-curl")
    defer { removeTree(dir) }
    var arguments = ["-s", "-o", dir + "/body", "-w", "%{http_code}", "-X", method, "--max-time", String(timeout)]
    if let cacert { arguments += ["--cacert", cacert] }
    if let cert { arguments += ["--cert", cert] }
    if let key { arguments += ["--key", key] }
    if let body {
        FileManager.default.createFile(atPath: dir + "/request", contents: Data(body.utf8), attributes: [.posixPermissions: 0o600])
        arguments += ["--data-binary", "@" + dir + "/request"]
    }
    if !headers.isEmpty {
        let text = headers.map { "\($0.key): \($0.value)" }.joined(separator: "\n") + "\n"
        FileManager.default.createFile(atPath: dir + "/headers", contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        arguments += ["-H", "@" + dir + "/headers"]
    }
    let pid = try Spawn.start("/usr/bin/curl", arguments + [url], environment: ["PATH": "/usr/bin:/bin"], output: .file(dir + "/out"))
    let code = Spawn.wait(pid)
    let out = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
    let answer = (try? String(contentsOfFile: dir + "/body", encoding: .utf8)) ?? ""
    return CurlAnswer(exitCode: code, status: Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, body: answer)
}
