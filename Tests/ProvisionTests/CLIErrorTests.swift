// The one error path of both tools: the built `provision` and `pgha` binaries, given bad input,
// print one "<tool>: error:" line on stderr and exit with the documented code.
import Fixtures
import Foundation
import Spawn
import Testing

@Suite struct CLIErrorTests {
    struct Case: CustomStringConvertible, Sendable {
        let tool: String
        let arguments: [String]
        let code: Int32
        let mentions: String
        var description: String { "\(tool) \(arguments.joined(separator: " "))" }
    }

    static let cases: [Case] = [
        Case(tool: "provision", arguments: ["no-such-command"], code: 1, mentions: "no-such-command"),
        Case(tool: "provision", arguments: ["run", "site.yml", "-i", "/nonexistent/hosts.yml"], code: 1, mentions: "/nonexistent/hosts.yml"),
        Case(tool: "provision", arguments: ["run", "site.yml", "-i", "x", "--forks", "0"], code: 1, mentions: "--forks"),
        Case(tool: "provision", arguments: ["inventory", "/nonexistent/hosts.yml", "--list"], code: 1, mentions: "/nonexistent/hosts.yml"),
        Case(tool: "provision", arguments: ["lab", "status", "/nonexistent/lab"], code: 1, mentions: "/nonexistent/lab"),
        Case(tool: "provision", arguments: ["check", "/nonexistent/lab"], code: 1, mentions: "/nonexistent/lab"),
        Case(tool: "provision", arguments: ["switchover", "/nonexistent/lab"], code: 1, mentions: "/nonexistent/lab"),
        Case(tool: "pgha", arguments: ["no-such-command"], code: 1, mentions: "no-such-command"),
        Case(tool: "pgha", arguments: ["serve", "--config", "/nonexistent/pgha.yml"], code: 1, mentions: "/nonexistent/pgha.yml"),
        Case(tool: "pgha", arguments: ["list", "-c", "/nonexistent/pgha.yml"], code: 1, mentions: "/nonexistent/pgha.yml"),
    ]

    @Test(arguments: cases) func badInputGetsThePrefixAndCode(_ c: Case) throws {
        let r = try Spawn.run(try builtBinary(c.tool), c.arguments, environment: ProcessInfo.processInfo.environment, timeout: 60)
        #expect(r.status == c.code, "\(c): exit \(r.status)\n\(r.stderr)")
        #expect(r.stderr.hasPrefix("\(c.tool): error: "), "\(c): \(r.stderr)")
        #expect(r.stderr.contains(c.mentions), "\(c): \(r.stderr)")
    }

    /// etcd down: the control commands exit 4 (unreachable), not 1 or 2.
    @Test func pghaControlWithEtcdDownIsUnreachable() throws {
        let dir = try makeTempDir("cli-errors")
        defer { removeTree(dir) }
        let config = dir + "/pgha.yml"
        try """
            scope: down
            name: n1
            restapi: {listen: 127.0.0.1:\(try freePort()), connect_address: 127.0.0.1:1}
            etcd3: {hosts: 127.0.0.1:\(try freePort())}
            postgresql: {listen: 127.0.0.1:1, connect_address: 127.0.0.1:1, data_dir: \(dir)/data}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try Spawn.run(try builtBinary("pgha"), ["list", "-c", config], environment: ProcessInfo.processInfo.environment, timeout: 60)
        #expect(r.status == 4, "exit \(r.status)\n\(r.stderr)")
        #expect(r.stderr.hasPrefix("pgha: error: etcd unreachable"), "\(r.stderr)")
    }
}
