import ArgumentParser
import CuratorCore
import Foundation
import Storage

/// `curator secret export|remove`: moves a store's pseudonym secret out of the database, so a copy
/// of the database alone can no longer re-derive the pseudonyms of guessed shop ids.
struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Move the shopper pseudonym secret out of the store.",
        discussion: """
            curator secret export --out FILE writes the store's secret to a new file (mode 600); \
            curator secret remove --pseudonym-secret-file FILE then takes it out of the store, leaving only \
            its fingerprint. From then on every command needs the file (--pseudonym-secret-file FILE or \
            CURATOR_PSEUDONYM_SECRET_FILE=FILE), and a different secret is refused.
            """,
        subcommands: [SecretExportCommand.self, SecretRemoveCommand.self])
}

struct SecretExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the store's pseudonym secret (hex) to a new file readable by its owner only.")

    @OptionGroup var store: StoreOptions
    @Option(help: "The file to create; an existing file is never overwritten.") var out: String

    func run() async throws {
        do {
            let curatorStore = try await store.open()
            let secret = try await curatorStore.storedPseudonymSecret()
            try SecretFile.create(out, contents: secret.hex + "\n")
            // Read back the way every command will, so a file that does not work is found now.
            let readBack = try PseudonymSecret(contentsOfFile: out)
            guard readBack.fingerprint == secret.fingerprint else {
                throw CuratorError.configuration("\(out) does not read back as the secret just written")
            }
            printErr("""
                curator: wrote the pseudonym secret of \(curatorStore.name) to \(out) (fingerprint \(secret.fingerprint)).
                Keep it apart from the store and its backups, then take it out of the store with:
                  curator secret remove --store \(curatorStore.name) --pseudonym-secret-file \(out)
                """)
        } catch {
            throw fail(error)
        }
    }
}

struct SecretRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Take the pseudonym secret out of the store, keeping its fingerprint; needs the secret given from outside.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        do {
            let curatorStore = try await store.open()
            try await curatorStore.removeStoredPseudonymSecret()
            printErr("""
                curator: \(curatorStore.name) now holds only the fingerprint of its pseudonym secret (\(curatorStore.pseudonymSecretFingerprint)).
                Give the secret to every command: --pseudonym-secret-file FILE or CURATOR_PSEUDONYM_SECRET_FILE=FILE.
                """)
        } catch {
            throw fail(error)
        }
    }
}

/// Creates a file only its owner can read, refusing to replace one that exists.
enum SecretFile {
    static func create(_ path: String, contents: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it exists already (a secret file is never overwritten)" : String(cString: strerror(errno))
            throw CuratorError.configuration("cannot create \(path): \(reason)")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(contents.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            throw CuratorError.configuration("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
