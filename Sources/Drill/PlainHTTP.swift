// A minimal HTTP/1.0 client over one TCP socket, with a deadline on every step: the drill polls
// the agents' REST API and etcd's JSON gateway every 100 ms and must never hang on a host that
// was just killed or cut off.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum PlainHTTP {
    struct Answer { var status: Int; var body: String }

    /// `method path` on host:port with an optional JSON body; nil on any failure or timeout.
    static func call(_ host: String, _ port: Int, _ method: String, _ path: String, body: String? = nil,
                     headers: [(String, String)] = [], timeout: Double = 0.5) -> Answer? {
        var hints = addrinfo(ai_flags: 0, ai_family: AF_INET, ai_socktype: Int32(SOCK_STREAM.rawValue),
                             ai_protocol: 0, ai_addrlen: 0, ai_addr: nil, ai_canonname: nil, ai_next: nil)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else { return nil }
        defer { freeaddrinfo(list) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let deadline = Date().addingTimeInterval(timeout)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS, wait(fd, Int16(POLLOUT), deadline) else { return nil }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else { return nil }
        }
        var request = "\(method) \(path) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" } else { request += "\r\n" }
        var bytes = Array(request.utf8)
        while !bytes.isEmpty {
            guard wait(fd, Int16(POLLOUT), deadline) else { return nil }
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EAGAIN { continue }; return nil }
            bytes.removeFirst(n)
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            guard wait(fd, Int16(POLLIN), deadline) else { return nil }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 { if errno == EAGAIN { continue }; return nil }
            response.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n"),
              let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") else { return nil }
        return Answer(status: status, body: String(text[headerEnd.upperBound...]))
    }

    private static func wait(_ fd: Int32, _ events: Int16, _ deadline: Date) -> Bool {
        let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        guard left > 0 else { return false }
        var p = pollfd(fd: fd, events: events, revents: 0)
        return poll(&p, 1, left) == 1
    }

    /// JSON object of a 200 answer, else nil.
    static func json(_ host: String, _ port: Int, _ method: String, _ path: String, body: String? = nil,
                     timeout: Double = 0.5) -> [String: Any]? {
        guard let a = call(host, port, method, path, body: body, timeout: timeout), a.status == 200 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(a.body.utf8))) as? [String: Any]
    }
}
