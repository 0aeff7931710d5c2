// Per-host worker threads that are joined, not just waited for.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A thread whose end can be awaited with pthread_join. A Foundation `Thread` cannot be joined:
/// the runner saw its body return and went on to exit while the thread was still tearing down
/// (libcrypto's thread-local cleanup, entered from libssh2's work on that thread), and exit's
/// OPENSSL_cleanup freed the locks that cleanup was taking: SIGSEGV after a clean recap, 1 run
/// in 40. A joined thread has finished its destructors before the process may exit.
final class WorkerThread {
    private var thread: pthread_t
    private var joined = false

    /// Starts `body` on a new thread with a `stackSize`-byte stack.
    init(stackSize: Int = 1 << 20, _ body: @escaping () -> Void) {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, stackSize)
        let box = Unmanaged.passRetained(WorkerBody(body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, &attr, { raw in
            Unmanaged<WorkerBody>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        // Out of threads: run it here, which keeps the semantics (body runs once) at the cost of parallelism.
        if rc != 0 {
            Unmanaged<WorkerBody>.fromOpaque(box).takeRetainedValue().body()
            joined = true
        }
        thread = t
    }

    /// Waits until the thread has ended, its thread-local destructors included.
    func join() {
        guard !joined else { return }
        pthread_join(thread, nil)
        joined = true
    }

    deinit { join() }
}

private final class WorkerBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
