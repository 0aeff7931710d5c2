// The only importer of CLibSSH2 (with its sibling files): one TCP socket + one LIBSSH2_SESSION.
import CLibSSH2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// libssh2_init must run once per process before any session exists.
private let libraryInitialized: Int32 = libssh2_init(0)

/// Handshakes and channels (commands, SFTP file transfers) done by this process, per
/// "address:port" (the benchmark prints them).
public enum SSHStatistics {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var counts: [String: Int] = [:]
    nonisolated(unsafe) private static var operations: [String: Int] = [:]

    static func recordHandshake(host: String, port: Int) {
        lock.lock(); defer { lock.unlock() }
        counts["\(host):\(port)", default: 0] += 1
    }

    static func recordOperation(host: String, port: Int) {
        lock.lock(); defer { lock.unlock() }
        operations["\(host):\(port)", default: 0] += 1
    }

    /// Commands run plus files read or written over SSH with `host:port` so far.
    public static func operations(host: String, port: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        return operations["\(host):\(port)"] ?? 0
    }

    /// Handshakes completed with `host:port` so far.
    public static func handshakes(host: String, port: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        return counts["\(host):\(port)"] ?? 0
    }

    /// Handshakes completed with any host so far.
    public static var totalHandshakes: Int {
        lock.lock(); defer { lock.unlock() }
        return counts.values.reduce(0, +)
    }
}

/// One SSH connection: TCP socket + libssh2 session, freed in deinit. Commands run on channels of
/// it one after another; files go over one lazily opened SFTP subsystem. Not thread-safe: one
/// thread at a time (libssh2 sessions are not).
///
/// The session runs libssh2 in non-blocking mode and waits on the socket itself (`check`), so
/// protocol steps have deadlines, a command's stdout and stderr are drained together, and
/// keepalives go out while a long command runs.
public final class SSHSession {
    public let host: String
    public let port: Int
    /// Deadline for each protocol step after connect (channel open, exec request, SFTP request).
    public let operationTimeout: Double
    /// The key the server presented in the handshake.
    public private(set) var hostKey: HostKey
    var session: OpaquePointer?
    var sftp: OpaquePointer?
    /// The server refused the SFTP subsystem (a common hardening): files then go over exec
    /// channels (ExecFiles.swift) for the rest of the session.
    public internal(set) var sftpRefused = false
    /// The long-lived shell (Shell.swift), and whether it ended (no new one is started then).
    var shell: SSHShell?
    var shellEnded = false
    private var socket: Int32

    /// Connects over TCP and completes the SSH handshake within `connectTimeout` seconds. The host
    /// key is not checked yet (`verifyHostKey`), nobody is authenticated yet (`authenticate`).
    public init(host: String, port: Int, connectTimeout: Double, keepaliveInterval: Int = 0,
                operationTimeout: Double = 60) throws {
        _ = libraryInitialized
        self.host = host
        self.port = port
        self.operationTimeout = operationTimeout
        let deadline = Date().addingTimeInterval(connectTimeout)
        socket = try Self.connectSocket(host: host, port: port, deadline: deadline, timeout: connectTimeout)
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            Glibc.close(socket)
            throw SSHError.session(host: host, operation: "session init", code: -1, message: "out of memory")
        }
        self.session = session
        hostKey = HostKey(type: "", blob: [], fingerprint: "", knownHostTypeMask: 0)
        libssh2_session_set_blocking(session, 0)
        try check("handshake", deadline: deadline, timeout: connectTimeout) {
            libssh2_session_handshake(session, socket)
        }
        SSHStatistics.recordHandshake(host: host, port: port)
        hostKey = try readHostKey()
        if keepaliveInterval > 0 { libssh2_keepalive_config(session, 1, UInt32(keepaliveInterval)) }
    }

    deinit { close() }

    /// Says goodbye to the server and frees the session; later calls fail. Bounded to ~2 s.
    public func close() {
        guard let session else { return }
        shell = nil  // its channel is freed while the session still is there
        libssh2_session_set_timeout(session, 2000)
        libssh2_session_set_blocking(session, 1)
        if let sftp { libssh2_sftp_shutdown(sftp) }
        sftp = nil
        libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "bye", "")
        libssh2_session_free(session)
        self.session = nil
        Glibc.close(socket)
        socket = -1
    }

    /// Sends a keepalive if the configured interval has passed (cheap to call often).
    public func sendKeepalive() {
        guard let session else { return }
        var next: Int32 = 0
        _ = libssh2_keepalive_send(session, &next)
    }

    // MARK: - The one door every libssh2 return code passes

    /// Repeats a non-blocking libssh2 call while it answers EAGAIN, waiting on the socket in the
    /// direction libssh2 asks for; a negative result becomes an `SSHError` with libssh2's own text.
    /// `deadline: nil` waits as long as it takes (command output), sending keepalives meanwhile.
    @discardableResult
    func check<R: BinaryInteger>(_ operation: String, deadline: Date?, timeout: Double? = nil,
                                 _ call: () -> R) throws -> R {
        while true {
            let rc = call()
            if rc >= 0 { return rc }
            if rc != R(LIBSSH2_ERROR_EAGAIN) { throw lastError(operation) }
            try waitForSocket(operation, deadline: deadline, timeout: timeout ?? operationTimeout)
        }
    }

    /// `check` for calls that return a handle: NULL with EAGAIN means "again", NULL otherwise fails.
    func checkHandle<T>(_ operation: String, deadline: Date?, _ call: () -> T?) throws -> T {
        while true {
            if let handle = call() { return handle }
            guard let session, libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN else {
                throw lastError(operation)
            }
            try waitForSocket(operation, deadline: deadline, timeout: operationTimeout)
        }
    }

    /// The session's last error as a value (SFTP status included when the SFTP layer failed).
    func lastError(_ operation: String) -> SSHError {
        guard let session else {
            return .session(host: host, operation: operation, code: -1, message: "session is closed")
        }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        let text = message.map { String(cString: $0) } ?? "unknown error"
        if code == LIBSSH2_ERROR_SFTP_PROTOCOL, let sftp {
            let status = libssh2_sftp_last_error(sftp)
            return .sftp(host: host, operation: operation, path: "", status: status, message: sftpStatusText(status))
        }
        if code == LIBSSH2_ERROR_TIMEOUT || code == LIBSSH2_ERROR_SOCKET_TIMEOUT {
            return .timeout(host: host, operation: operation, seconds: operationTimeout)
        }
        return .session(host: host, operation: operation, code: code, message: text)
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on.
    func waitForSocket(_ operation: String, deadline: Date?, timeout: Double) throws {
        guard let session else { throw lastError(operation) }
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var waitMs: Int32 = 1000
        if let deadline {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw SSHError.timeout(host: host, operation: operation, seconds: timeout) }
            waitMs = Int32(min(left * 1000, 1000).rounded(.up))
        }
        var fds = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&fds, 1, waitMs)
        if ready < 0 && errno != EINTR {
            throw SSHError.session(host: host, operation: operation, code: LIBSSH2_ERROR_SOCKET_RECV,
                                   message: String(cString: strerror(errno)))
        }
        if ready > 0 && fds.revents & Int16(POLLNVAL) != 0 {
            throw SSHError.session(host: host, operation: operation, code: LIBSSH2_ERROR_SOCKET_DISCONNECT,
                                   message: "connection lost")
        }
        if ready == 0 && deadline == nil { sendKeepalive() }
    }

    // MARK: - TCP

    /// Non-blocking connect bounded by `deadline`, trying each address the name resolves to.
    private static func connectSocket(host: String, port: Int, deadline: Date, timeout: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var found: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &found)
        guard rc == 0, let first = found else {
            throw SSHError.connect(host: host, port: port, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var reason = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 { reason = String(cString: strerror(errno)); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            // Small request/response packets: Nagle + delayed ACK would add ~40 ms per round trip.
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                let left = max(0, deadline.timeIntervalSinceNow)
                var fds = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&fds, 1, Int32((left * 1000).rounded(.up)))
                if ready == 0 {
                    reason = "connect timed out after \(timeout) s"
                } else {
                    var soError: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                    if soError == 0 { return fd }
                    reason = String(cString: strerror(soError))
                }
            } else {
                reason = String(cString: strerror(errno))
            }
            Glibc.close(fd)
        }
        throw SSHError.connect(host: host, port: port, reason: reason)
    }
}
