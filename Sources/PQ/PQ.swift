// The only importer of CLibPQ: a connection class owning the PGconn handle, results as plain values.
import CLibPQ
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from libpq, carrying its own text (PQerrorMessage / PQresultErrorMessage) and SQLSTATE.
public struct PQError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public var sqlState: String?
    public init(_ message: String, sqlState: String? = nil) {
        // libpq's text ends with a newline (what trimmingCharacters(in: .whitespacesAndNewlines) removed).
        let blank: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace }
        let scalars = message.unicodeScalars
        if let first = scalars.firstIndex(where: { !blank($0) }), let last = scalars.lastIndex(where: { !blank($0) }) {
            self.message = String(scalars[first...last])
        } else { self.message = "" }
        self.sqlState = sqlState
    }
    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }
}

/// The rows of one statement: column names and text values (nil for SQL NULL).
public struct PGResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String?]]
    public init(columns: [String], rows: [[String?]]) { self.columns = columns; self.rows = rows }

    /// The value of `column` in row `row`, nil when NULL, absent or out of range.
    public func value(_ column: String, row: Int = 0) -> String? {
        guard row < rows.count, let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}

/// One libpq connection. Not thread-safe: use it from one thread at a time (see `PGSession`).
public final class PGConnection {
    private let conn: OpaquePointer

    /// Connects with a libpq conninfo string or a postgresql:// URI; `connectTimeout` (seconds,
    /// ≥ 2 per libpq) bounds the attempt and wins over one in `conninfo`.
    public init(conninfo: String, connectTimeout: Int = 3) throws {
        // expand_dbname: the dbname slot takes the whole string (either form); later keywords win.
        let keys = ["dbname", "connect_timeout"], values = [conninfo, "\(max(2, connectTimeout))"]
        let c: OpaquePointer? = keys.withCStrings { k in values.withCStrings { v in PQconnectdbParams(k, v, 1) } }
        guard let c else { throw PQError("PQconnectdbParams returned no handle (out of memory)") }
        conn = c
        // On failure deinit still runs (every stored property is set) and frees the handle.
        guard PQstatus(conn) == CONNECTION_OK else { throw PQError(String(cString: PQerrorMessage(conn))) }
        // libpq prints notices (NOTICE, WARNING, a FATAL sent outside a query) to the process's
        // stderr by default: a library has no business writing there; errors come back as PQError.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit { PQfinish(conn) }

    /// Whether the server is still reachable over this connection, as far as libpq knows.
    public var isOK: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Runs one statement with text parameters ($1, $2, …) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = []) throws -> PGResult {
        let cParams: [UnsafeMutablePointer<CChar>?] = params.map { $0.map { strdup($0) } ?? nil }
        defer { cParams.forEach { free($0) } }
        let result: OpaquePointer? = cParams.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(1, params.count)) {
                PQexecParams(conn, sql, Int32(params.count), nil, params.isEmpty ? nil : $0, nil, nil, 0)
            }
        }
        return try check(result)
    }

    /// The one place libpq results are judged: success yields rows, failure the server's own text.
    private func check(_ result: OpaquePointer?) throws -> PGResult {
        guard let result else { throw PQError(String(cString: PQerrorMessage(conn))) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PGResult(columns: [], rows: [])
        case PGRES_TUPLES_OK:
            let nCols = PQnfields(result), nRows = PQntuples(result)
            let columns = (0..<nCols).map { String(cString: PQfname(result, $0)) }
            let rows: [[String?]] = (0..<nRows).map { r in
                (0..<nCols).map { c in
                    PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c))
                }
            }
            return PGResult(columns: columns, rows: rows)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PQError(String(cString: PQresultErrorMessage(result)), sqlState: state)
        }
    }
}

/// A connection used from async code: every libpq call runs on one private serial queue, off the
/// cooperative pool; the connection is (re)opened on demand and dropped after an error.
public final class PGSession: @unchecked Sendable {
    private let conninfo: String
    private let connectTimeout: Int
    private let queue: DispatchQueue
    private var connection: PGConnection?  // touched only on `queue`

    public init(conninfo: String, connectTimeout: Int = 2, label: String = "pgha.pq") {
        self.conninfo = conninfo
        self.connectTimeout = connectTimeout
        self.queue = DispatchQueue(label: label)
    }

    public func query(_ sql: String, _ params: [String?] = []) async throws -> PGResult {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<PGResult, Error>) in
            queue.async {
                do {
                    if self.connection == nil || self.connection?.isOK == false {
                        self.connection = try PGConnection(conninfo: self.conninfo, connectTimeout: self.connectTimeout)
                    }
                    cont.resume(returning: try self.connection!.query(sql, params))
                } catch {
                    self.connection = nil
                    cont.resume(throwing: error)
                }
            }
        }
    }

    /// Drops the connection (e.g. before stopping the server).
    public func close() async {
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            queue.async { self.connection = nil; cont.resume() }
        }
    }
}

extension Array where Element == String {
    /// A NULL-terminated array of C strings, valid inside `body`.
    func withCStrings<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer<CChar>($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
