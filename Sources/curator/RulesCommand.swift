import ArgumentParser
import CuratorCore
import Foundation
import Storage

/// `curator rules list|put|delete`: the same as `/v1/rules`, on the store directly; servers of a
/// shared store apply a change at once (change log), a server on a SQLite file within a second.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "The shop's merchandising rules: pin, boost, bury or block products in every list.",
        subcommands: [List.self, Put.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rules.")
        @OptionGroup var store: StoreOptions
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            do {
                let opened = try await store.open()
                let rules = try await opened.merchandisingRules()
                await opened.close()
                if json { return print(try CuratorJSON.text(["rules": rules])) }
                if rules.isEmpty { return print("no rules") }
                let now = Timestamps.nowMillis()
                for rule in rules { print(RulesCommand.line(rule, now: now)) }
            } catch {
                throw fail(error)
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a rule (replacing one of the same name).",
            discussion: """
                RULE is JSON, as PUT /v1/rules/NAME takes it, for example
                  '{"kind": "pin", "product_id": "P1", "position": 1}'
                  '{"kind": "boost", "brand": "Acme", "weight": 0.3, "starts_at": "2026-06-01T00:00:00+08:00", "ends_at": "2026-06-19T00:00:00+08:00"}'
                  '{"kind": "block", "category": "Outdoor > Knives"}'
                  '{"kind": "boost", "new_for_days": 7, "weight": 0.2, "surface": "anonymous"}'
                """)
        @OptionGroup var store: StoreOptions
        @Argument(help: "The rule's name (letters, digits, '.', '_', '-').") var name: String
        @Argument(help: "The rule as JSON; '-' reads it from standard input.") var rule: String

        func run() async throws {
            do {
                let text = rule == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : rule
                var parsed: MerchandisingRule
                do {
                    parsed = try JSONDecoder().decode(MerchandisingRule.self, from: Data(text.utf8))
                } catch let error as RuleError {
                    throw ValidationError("the rule: \(error)")
                } catch {
                    throw ValidationError("the rule is not a JSON object as PUT /v1/rules takes it")
                }
                if !parsed.name.isEmpty && parsed.name != name { throw ValidationError("field 'name' ('\(parsed.name)') differs from NAME ('\(name)')") }
                parsed.name = name
                let stored: MerchandisingRule
                do { stored = try parsed.readyToStore(atMillis: Timestamps.nowMillis()) } catch let error as RuleError {
                    throw ValidationError("the rule: \(error)")
                }
                let opened = try await store.open()
                let created = try await opened.putMerchandisingRule(stored)
                await opened.close()
                print("\(created ? "stored" : "replaced") \(RulesCommand.line(stored, now: Timestamps.nowMillis()))")
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a rule.")
        @OptionGroup var store: StoreOptions
        @Argument var name: String

        func run() async throws {
            do {
                let opened = try await store.open()
                let deleted = try await opened.deleteMerchandisingRule(named: name)
                await opened.close()
                guard deleted else { throw ValidationError("no rule named '\(name)'") }
                print("deleted \(name)")
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
        }
    }

    /// One rule on one line: name, kind, what it matches, and when and where it applies.
    static func line(_ rule: MerchandisingRule, now: Int64) -> String {
        let target = switch rule.target {
        case .product(let id): "product \(id)"
        case .brand(let brand): "brand \(brand)"
        case .category(let category): "category \(category)*"
        case .newProducts(let days): "products added in the last \(days) days"
        }
        var parts = [rule.name, rule.kind.rawValue, target]
        if let position = rule.position { parts.append("at \(position)") }
        if let weight = rule.weight { parts.append("weight \(weight)") }
        parts.append("on \(rule.surface?.rawValue ?? "every list")")
        if let start = rule.startsAtMillis { parts.append("from \(Timestamps.format(millis: start))") }
        if let end = rule.endsAtMillis { parts.append("until \(Timestamps.format(millis: end))") }
        parts.append(rule.isInForce(atMillis: now) ? "in force" : "not in force now")
        return parts.joined(separator: "  ")
    }
}
