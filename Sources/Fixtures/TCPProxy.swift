// A loopback TCP relay a test can cut and restore: one member's road to etcd, so that member
// alone loses etcd (a network partition) while the rest of the cluster keeps it.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class TCPProxy: @unchecked Sendable {
    public let port: Int
    let targetPort: Int
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var sockets: Set<Int32> = []
    private var open = false

    /// Relays 127.0.0.1:`port` (a free port) to 127.0.0.1:`targetPort`; starts open.
    public init(to targetPort: Int) throws {
        self.targetPort = targetPort
        port = try freePort()
        try restore()
    }

    /// Refuses new connections and resets the open ones, as a pulled cable would.
    public func cut() {
        lock.lock()
        open = false
        let l = listener
        listener = -1
        // Under the lock: a pump closes its descriptors only after taking it.
        for s in sockets { shutdown(s, Int32(SHUT_RDWR)) }
        lock.unlock()
        if l >= 0 { shutdown(l, Int32(SHUT_RDWR)); close(l) }
    }

    /// Listens again on the same port.
    public func restore() throws {
        let l = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard l >= 0 else { throw FixtureError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(l, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(l, 64) == 0 else {
            let e = String(cString: strerror(errno)); close(l)
            throw FixtureError("proxy listen on \(port): \(e)")
        }
        lock.lock(); listener = l; open = true; lock.unlock()
        Thread.detachNewThread { [self] in acceptLoop(l) }
    }

    public func stop() { cut() }

    static func loopback(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    private func acceptLoop(_ l: Int32) {
        while true {
            let client = accept(l, nil, nil)
            if client < 0 { return }  // the listener was closed by cut()
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = Self.loopback(targetPort)
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            lock.lock()
            let admitted = ok == 0 && open
            if admitted { sockets.insert(client); sockets.insert(upstream) }
            lock.unlock()
            guard admitted else { close(client); close(upstream); continue }
            let pair = Pair()
            Thread.detachNewThread { [self] in pump(from: client, to: upstream, pair) }
            Thread.detachNewThread { [self] in pump(from: upstream, to: client, pair) }
        }
    }

    /// Counts the two pumps of a connection; the second to finish closes the descriptors.
    private final class Pair: @unchecked Sendable {
        var running = 2
    }

    /// Copies one direction until EOF or error, then shuts both sockets down.
    private func pump(from a: Int32, to b: Int32, _ pair: Pair) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        loop: while true {
            let n = buffer.withUnsafeMutableBytes { read(a, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let w = buffer.withUnsafeBytes { send(b, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { break loop }
                sent += w
            }
        }
        shutdown(a, Int32(SHUT_RDWR)); shutdown(b, Int32(SHUT_RDWR))
        lock.lock()
        pair.running -= 1
        let last = pair.running == 0
        if last { sockets.remove(a); sockets.remove(b) }
        lock.unlock()
        if last { close(a); close(b) }
    }
}
