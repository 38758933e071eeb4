import CuratorCore
import Foundation
import PostgresStorage
import TestSupport
import XCTest

/// Against a real PostgreSQL: `scripts/test` starts a throwaway one (`scripts/postgres start`) and
/// passes its URL in CURATOR_TEST_POSTGRES_URL. Without it these skip locally and fail in CI.
final class PostgresProbeTests: XCTestCase {
    private func server() throws -> PostgresLocation { try TestDatabase.server() }

    private func message(of body: () async throws -> String) async -> String {
        do {
            let version = try await body()
            return "no error (connected: \(version))"
        } catch {
            return "\(error)"
        }
    }

    func testTheTestServerAnswersWithItsVersion() async throws {
        let version = try await PostgresProbe.serverVersion(at: try server())
        XCTAssertTrue(version.hasPrefix("PostgreSQL "), version)
    }

    func testAWrongPasswordIsOneLineThatNamesTheUser() async throws {
        var location = try server()
        location.password = "not-the-password"
        let text = await message { try await PostgresProbe.serverVersion(at: location) }
        XCTAssertEqual(text, "configuration: PostgreSQL at \(location.host):\(location.port) refused user '\(location.username)': wrong password")
    }

    func testAMissingDatabaseIsNamed() async throws {
        var location = try server()
        location.database = "no_such_database"
        let text = await message { try await PostgresProbe.serverVersion(at: location) }
        XCTAssertTrue(text.contains("has no database 'no_such_database'"), text)
    }

    func testAClosedPortIsUnreachableAtOnceNotAHang() async throws {
        var location = try server()
        location.port = try closedPort()
        // A refusal, not the timeout running out: the message says which (and a hang would end
        // only at the long timeout, with another message).
        let text = await message { try await PostgresProbe.serverVersion(at: location, timeout: .seconds(60)) }
        XCTAssertEqual(text, "configuration: cannot reach PostgreSQL at 127.0.0.1:\(location.port): connection refused")
    }

    /// A loopback port nothing listens on: bound, read, then closed.
    private func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SetupFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw SetupFailure("could not bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
