import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import OnlineMeasurement
import Storage

/// `curator experiment start|list|status|stop`: the same as `/v1/experiments`, on the store
/// directly; running servers pick a change up within a second.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "Split recommendation traffic between models and see what each earns.",
        subcommands: [Start.self, List.self, Status.self, Stop.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start an experiment.",
            discussion: "Each --variant is NAME=MODEL or NAME=MODEL:WEIGHT; MODEL is popular, semantic, itemknn, or a trained model in the store (sequential, two-tower: the newest version; NAME@VERSION: that one).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The experiment's name (letters, digits, '.', '_', '-').") var name: String
        @Option(help: "shopper or anonymous.") var surface = "shopper"
        @Option(help: "ab (each shopper sees one variant) or interleave (team-draft interleaving of two).") var method = "ab"
        @Option(name: .customLong("variant"), help: ArgumentHelp("A variant, NAME=MODEL[:WEIGHT]; the first is the control. Repeat.", valueName: "variant"))
        var variants: [String] = []
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            do {
                guard let surfaceValue = Surface(rawValue: surface) else { throw ValidationError("--surface: '\(surface)' is not shopper or anonymous") }
                guard let methodValue = Experiment.Method(rawValue: method) else { throw ValidationError("--method: '\(method)' is not ab or interleave") }
                let parsed = try variants.map { text -> Experiment.Variant in
                    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("--variant '\(text)' is not NAME=MODEL[:WEIGHT]") }
                    let modelAndWeight = parts[1].split(separator: ":", maxSplits: 1).map(String.init)
                    var weight = 1.0
                    if modelAndWeight.count == 2 {
                        guard let value = Double(modelAndWeight[1]) else { throw ValidationError("--variant '\(text)': '\(modelAndWeight[1])' is not a number") }
                        weight = value
                    }
                    return Experiment.Variant(name: parts[0], model: modelAndWeight[0], weight: weight)
                }
                let opened = try await store.open()
                try await ExperimentRules.check(name: name, surface: surfaceValue, method: methodValue, variants: parsed, store: opened)
                let experiment = try await ExperimentRules.create(name: name, surface: surfaceValue, method: methodValue, variants: parsed, in: opened)
                await opened.close()
                if json { return print(try CuratorJSON.text(experiment)) }
                print("started \(experiment.name) on \(experiment.surface.rawValue) (\(experiment.method.rawValue)): "
                    + experiment.variants.map { "\($0.name)=\($0.model) weight \($0.weight)" }.joined(separator: ", "))
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List experiments.")
        @OptionGroup var store: StoreOptions
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            do {
                let opened = try await store.open()
                let experiments = try await opened.experiments()
                await opened.close()
                if json { return print(try CuratorJSON.text(["experiments": experiments])) }
                if experiments.isEmpty { return print("no experiments") }
                for e in experiments {
                    let state = e.stoppedAtMillis.map { "stopped \(Timestamps.format(millis: $0))" } ?? "running"
                    print("\(e.name)  \(e.surface.rawValue)  \(e.method.rawValue)  started \(Timestamps.format(millis: e.startedAtMillis))  \(state)  "
                        + e.variants.map { "\($0.name)=\($0.model)" }.joined(separator: " "))
                }
            } catch {
                throw fail(error)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How an experiment stands: per variant, and each variant's lift over the first.")
        @OptionGroup var store: StoreOptions
        @Argument var name: String
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            do {
                let opened = try await store.open()
                let status = try await ExperimentRules.status(named: name, in: opened)
                await opened.close()
                if json { return print(try CuratorJSON.text(status)) }
                print(OnlineTables.status(status))
            } catch {
                throw fail(error)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an experiment (its name stays taken, so its report stays apart).")
        @OptionGroup var store: StoreOptions
        @Argument var name: String

        func run() async throws {
            do {
                let opened = try await store.open()
                let stopped = try await ExperimentRules.stop(named: name, in: opened)
                await opened.close()
                print("stopped \(stopped.name)")
            } catch {
                throw fail(error)
            }
        }
    }
}

/// `curator report online`: `GET /v1/metrics/online` as a table.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports on what recommendations earned.", subcommands: [Online.self])

    struct Online: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists, impressions, clicks, purchases and revenue of served lists, with 95% intervals.")
        @OptionGroup var store: StoreOptions
        @Option(help: "From this time (ISO-8601; default: 7 days before --until).") var since: String?
        @Option(help: "Until this time (ISO-8601; default: now).") var until: String?
        @Option(name: .customLong("group-by"), help: "model, variant, surface, position or day, or several joined by commas (day,model).") var groupBy = "model"
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            guard let grouping = OnlineReport.Grouping.list(groupBy) else {
                throw ValidationError("--group-by: '\(groupBy)' is not model, variant, surface, position or day, or several of them joined by commas")
            }
            func time(_ text: String?, _ name: String) throws -> Int64? {
                guard let text else { return nil }
                guard let millis = Timestamps.parse(text) else { throw ValidationError("--\(name): '\(text)' is not an ISO-8601 time like 2026-12-01T00:00:00Z") }
                return millis
            }
            let untilMillis = try time(until, "until") ?? Timestamps.nowMillis() + 1
            let sinceMillis = try time(since, "since") ?? untilMillis - 7 * 86_400_000
            do {
                let opened = try await store.open()
                let slice = try await opened.onlineLog(fromMillis: sinceMillis, untilMillis: untilMillis)
                await opened.close()
                let report = OnlineReport(slice: slice, groupBy: grouping, sinceMillis: sinceMillis, untilMillis: untilMillis)
                if json { return print(try CuratorJSON.text(report)) }
                print(OnlineTables.report(report))
            } catch {
                throw fail(error)
            }
        }
    }
}

/// The online figures as aligned text tables.
enum OnlineTables {
    static func percent(_ rate: Rate) -> String { String(format: "%.2f%% [%.2f, %.2f]", rate.value * 100, rate.low * 100, rate.high * 100) }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return ([header] + rows).map { row in
            row.enumerated().map { i, cell in i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[i] - cell.count) + cell }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func report(_ report: OnlineReport) -> String {
        let header = [report.groupBy.map(\.rawValue).joined(separator: " | "), "lists", "impressions", "seen", "clicks", "ctr", "carts", "purchases", "conversion", "revenue", "rev/1000"]
        let rows = report.rows.map { row in
            [row.group, String(row.lists), String(row.impressions), String(row.seen), String(row.clicks), percent(row.ctr), String(row.carts),
             String(row.purchases), percent(row.conversion), String(format: "%.2f", row.revenue),
             String(format: "%.2f [%.2f, %.2f]", row.revenuePer1000Impressions.value, row.revenuePer1000Impressions.low, row.revenuePer1000Impressions.high)]
        }
        return rows.isEmpty ? "no lists served between \(Timestamps.format(millis: report.sinceMillis)) and \(Timestamps.format(millis: report.untilMillis))"
            : table(header, rows)
    }

    static func status(_ status: ExperimentStatus) -> String {
        let e = status.experiment
        var out = "\(e.name): \(e.method.rawValue) on \(e.surface.rawValue), started \(Timestamps.format(millis: e.startedAtMillis))"
            + (e.stoppedAtMillis.map { ", stopped \(Timestamps.format(millis: $0))" } ?? ", running") + "\n"
        let header = ["variant", "model", "shoppers", "lists", "impressions", "clicks", "ctr", "purchases", "conversion", "revenue"]
        out += table(header, status.variants.map { v in
            [v.name, v.model, String(v.shoppers), String(v.lists), String(v.impressions), String(v.clicks), percent(v.ctr), String(v.purchases),
             percent(v.conversion), String(format: "%.2f", v.revenue)]
        })
        for v in status.variants {
            guard let lift = v.lift else { continue }
            for (label, figure) in [("ctr", lift.ctr), ("conversion", lift.conversion)] {
                out += String(format: "\n%@ vs %@, %@: %+.3f pp [%+.3f, %+.3f], p = %.4g", v.name, status.variants[0].name, label, figure.difference * 100,
                              figure.low * 100, figure.high * 100, figure.pValue)
                if let needed = figure.shoppersPerArmNeeded { out += ", \(needed) shoppers per arm for power 0.8" }
            }
        }
        if let i = status.interleaving {
            out += String(format: "\ninterleaving: %d wins, %d losses, %d ties for %@; sign test p = %.4g (clicks %d vs %d)", i.wins, i.losses, i.ties,
                          status.variants.first?.name ?? "first", i.pValue, i.clicksFirst, i.clicksSecond)
        }
        return out
    }
}
