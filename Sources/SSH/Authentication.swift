// Public key authentication: private key files (OpenSSH / PEM, ed25519 / RSA) and ssh-agent.
import CLibSSH2
import Foundation

/// One way to prove who we are, tried in the order given.
public enum SSHAuthMethod: Sendable, Equatable {
    /// A private key file (OpenSSH or PEM format, ed25519 or RSA), unencrypted.
    case keyFile(String)
    /// Every identity of the ssh-agent at $SSH_AUTH_SOCK (skipped when it is unset).
    case agent
}

extension SSHSession {
    /// Authenticates `user` with the first key the server accepts, trying `methods` in order. A
    /// key file is offered with its `.pub` beside it when present, then alone (libssh2 derives
    /// the public key). Bounded by `timeout` seconds overall.
    public func authenticate(user: String, methods: [SSHAuthMethod], timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var tried: [String] = []
        for method in methods {
            switch method {
            case let .keyFile(file):
                if try authenticate(user: user, keyFile: file, deadline: deadline, timeout: timeout, tried: &tried) {
                    return
                }
            case .agent:
                guard let socket = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty else { continue }
                do {
                    if try authenticateWithAgent(user: user, deadline: deadline, timeout: timeout) { return }
                    tried.append("ssh-agent: no identity accepted")
                } catch let error as SSHError {
                    if case .timeout = error { throw error }
                    tried.append("ssh-agent: \(Self.reason(error))")
                }
            }
        }
        if tried.isEmpty { tried.append("no private key file found and no ssh-agent ($SSH_AUTH_SOCK)") }
        throw SSHError.authentication(host: host, user: user, reason: tried.joined(separator: "; "))
    }

    private func authenticate(user: String, keyFile file: String, deadline: Date, timeout: Double,
                              tried: inout [String]) throws -> Bool {
        guard FileManager.default.fileExists(atPath: file) else {
            tried.append("\(file): no such file")
            return false
        }
        let publicFile = file + ".pub"
        let candidates: [String?] = FileManager.default.fileExists(atPath: publicFile) ? [publicFile, nil] : [nil]
        for pub in candidates {
            do {
                try check("authenticate with \(file)", deadline: deadline, timeout: timeout) {
                    libssh2_userauth_publickey_fromfile_ex(session, user, UInt32(user.utf8.count), pub, file, nil)
                }
                return true
            } catch let error as SSHError {
                if case .timeout = error { throw error }
                tried.append("\(file): \(Self.reason(error))")
            }
        }
        if Self.isRSAKey(file) {
            tried.append("\(file) is an RSA key: libssh2 1.10 signs with ssh-rsa (SHA-1), which OpenSSH >= 8.8 "
                         + "refuses unless sshd has `PubkeyAcceptedAlgorithms +ssh-rsa`; an ed25519 key avoids this")
        }
        return false
    }

    /// Whether a key file holds RSA (from its .pub, or a PEM RSA header).
    private static func isRSAKey(_ file: String) -> Bool {
        if let pub = try? String(contentsOfFile: file + ".pub", encoding: .utf8) { return pub.hasPrefix("ssh-rsa ") }
        let head = (try? String(contentsOfFile: file, encoding: .utf8))?.prefix(40) ?? ""
        return head.contains("BEGIN RSA PRIVATE KEY")
    }

    private static func reason(_ error: SSHError) -> String {
        if case let .session(_, _, _, message) = error { return message }
        return error.description
    }

    /// Tries every identity the agent holds; true when one was accepted.
    private func authenticateWithAgent(user: String, deadline: Date, timeout: Double) throws -> Bool {
        guard let agent = libssh2_agent_init(session) else { throw lastError("ssh-agent init") }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        try check("ssh-agent connect", deadline: deadline, timeout: timeout) { libssh2_agent_connect(agent) }
        try check("ssh-agent list identities", deadline: deadline, timeout: timeout) {
            libssh2_agent_list_identities(agent)
        }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            let rc = try check("ssh-agent identity", deadline: deadline, timeout: timeout) {
                libssh2_agent_get_identity(agent, &identity, previous)
            }
            if rc == 1 { return false }
            do {
                try check("ssh-agent authenticate", deadline: deadline, timeout: timeout) {
                    libssh2_agent_userauth(agent, user, identity)
                }
                return true
            } catch let error as SSHError {
                if case .timeout = error { throw error }
            }
            previous = identity
        }
    }
}
