#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A readers-writer lock: many readers at once, or one writer. The one readers-writer lock of
/// the project, shared by the vector indexes and the live catalogue (short exclusive sections
/// elsewhere use `Mutex`).
///
/// The `pthread_rwlock_t` lives in memory allocated once in `init` and freed in `deinit`:
/// pthread locks must not move while in use, and Swift does not promise a stable address for
/// a stored property (`&property` may point at a temporary copy). A final class keeps that
/// one allocation for the lock's whole life.
///
/// Writers are preferred (on glibc), so a steady stream of searches and recommendations cannot
/// starve an insert: a new product or event must take effect promptly. The price is that a
/// reader must never take the read lock again while holding it (a writer waiting in between
/// would deadlock both); no caller nests.
public final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        let status = pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        precondition(status == 0, "pthread_rwlock_init failed with \(status)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    @inline(__always)
    public func withReadLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    @inline(__always)
    public func withWriteLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
