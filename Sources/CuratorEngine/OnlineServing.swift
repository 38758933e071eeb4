import CuratorCore
import Foundation
import OnlineMeasurement
import Storage

/// The online loop: every list served gets an id and is logged; events are attributed to the
/// lists that led to them; experiments choose the model per shopper.
extension RecommendationEngine {
    /// A known shopper's recommendations, as served: from the experiment running on the shopper
    /// surface if there is one, numbered, with an id, and logged.
    public func serveRecommendations(shopper shopID: String, request: RecommendationRequest) async throws -> RecommendationList {
        var request = request
        request.surface = .shopper
        let key = store.shopperKey(for: shopID)
        // Personalisation off: none of their history is read, and no experiment applies.
        if withoutPersonalisation.contains(key) {
            return logged(recommend(shopper: shopID, history: [], request: request, model: .withoutPersonalisation), surface: .shopper, shopperKey: key)
        }
        let events = try await history(ofShopper: shopID)
        return serve(surface: .shopper, shopper: shopID, shopperKey: key, history: events.map { ($0.productID, $0.type, $0.timestampMillis) },
                     request: request)
    }

    /// Recommendations for a history the caller sent. `sessionShopper` (a session token's shopper)
    /// places the caller in an experiment and lets later events find the list; nil: anonymous.
    public func serveRecommendations(history: [(productID: String, type: EventType, timestampMillis: Int64)], sessionShopper: String?,
                                     request: RecommendationRequest) -> RecommendationList {
        var request = request
        request.surface = .anonymous
        let key = sessionShopper.map { store.shopperKey(for: $0) }
        // Personalisation off covers what the browser sends too: none of it is used.
        if let key, withoutPersonalisation.contains(key) {
            return logged(recommend(shopper: "anonymous", history: [], request: request, model: .withoutPersonalisation), surface: .anonymous,
                          shopperKey: key)
        }
        return serve(surface: .anonymous, shopper: "anonymous", shopperKey: key, history: history, request: request)
    }

    func serve(surface: Surface, shopper: String, shopperKey: String?, history: [(productID: String, type: EventType, timestampMillis: Int64)],
                       request: RecommendationRequest) -> RecommendationList {
        guard let shopperKey, let experiment = experiments.running(on: surface) else {
            return logged(recommend(shopper: shopper, history: history, request: request), surface: surface, shopperKey: shopperKey)
        }
        switch experiment.method {
        case .ab:
            let variant = experiment.variants[VariantAssignment.variant(of: experiment, shopperKey: shopperKey)]
            var list = recommend(shopper: shopper, history: history, request: request, model: choice(forVariant: variant.model))
            list.experiment = experiment.name
            list.variant = variant.name
            return logged(list, surface: surface, shopperKey: shopperKey)
        case .interleave:
            let first = recommend(shopper: shopper, history: history, request: request, model: choice(forVariant: experiment.variants[0].model))
            let second = recommend(shopper: shopper, history: history, request: request, model: choice(forVariant: experiment.variants[1].model))
            var generator = SystemRandomNumberGenerator()
            let merged = TeamDraft.merge(first.items.map(\.productID), second.items.map(\.productID), k: request.k, using: &generator)
            var items: [String: RecommendedItem] = [:]
            for item in second.items + first.items { items[item.productID] = item }
            var list = RecommendationList(shopper: shopper, model: first.model == second.model ? first.model : "\(first.model)+\(second.model)",
                                          items: merged.items.compactMap { items[$0] })
            list.experiment = experiment.name
            list.variant = "interleaved"
            return logged(list, surface: surface, shopperKey: shopperKey, teams: merged.teams)
        }
    }

    /// A list as served on `surface` (similar products, or any list made elsewhere): numbered,
    /// given an id, logged. `shopperID` is the session's shopper, if the caller has one.
    public func served(_ list: RecommendationList, surface: Surface, shopperID: String?) -> RecommendationList {
        logged(list, surface: surface, shopperKey: shopperID.map { store.shopperKey(for: $0) })
    }

    /// Logs search results as a served list; returns its id.
    public func servedSearch(productIDs: [String], shopperID: String?) -> String {
        let id = RecommendationID.make()
        online.append(ServedList(id: id, shopperKey: shopperID.map { store.shopperKey(for: $0) }, surface: .search, model: "semantic",
                                 productIDs: productIDs, servedAtMillis: Timestamps.nowMillis()))
        return id
    }

    func logged(_ list: RecommendationList, surface: Surface, shopperKey: String?, teams: [UInt8]? = nil) -> RecommendationList {
        var list = list
        let id = RecommendationID.make()
        list.recommendationID = id
        for i in list.items.indices { list.items[i].position = i + 1 }
        let version = catalogue.servingModel.flatMap { $0.name == list.model ? $0.version : nil }
        online.append(ServedList(id: id, shopperKey: shopperKey, surface: surface, model: list.model, modelVersion: version, experiment: list.experiment,
                                 variant: list.variant, productIDs: list.items.map(\.productID), teams: teams, servedAtMillis: Timestamps.nowMillis()))
        return list
    }

    /// Credits stored events to served lists: the list an event names, else the newest list that
    /// showed the product to the shopper within the attribution window before the event (and up
    /// to a minute after, for clocks of replicas that differ). Views are not credited; a re-sent
    /// event was credited the first time.
    func attribute(_ events: [Event], isNew: [Bool], recommendationIDs: [String?]) async {
        var credited: [AttributedEvent] = []
        var unnamed: [(event: Event, key: String, productID: String)] = []
        for (i, event) in events.enumerated() where isNew[i] && event.type != .view {
            let key = store.shopperKey(for: event.shopperID)
            let productID = TextCleaning.identifier(event.productID)
            if i < recommendationIDs.count, let id = recommendationIDs[i] {
                credited.append(AttributedEvent(recommendationID: id, shopperKey: key, productID: productID, type: event.type, quantity: event.quantity,
                                                price: event.price, atMillis: event.timestampMillis))
            } else {
                unnamed.append((event, key, productID))
            }
        }
        guard !unnamed.isEmpty else { return online.append(attributed: credited) }
        // One read for the batch: every list its shoppers were served within the window.
        let since = (unnamed.map(\.event.timestampMillis).min() ?? 0) - attributionWindowMillis
        let keys = Array(Set(unnamed.map(\.key)))
        var lists = online.recentLists(shopperKeys: Set(keys), sinceMillis: since)
        do {
            let known = Set(lists.map(\.id))
            lists += try await store.servedLists(shopperKeys: keys, sinceMillis: since).filter { !known.contains($0.id) }
        } catch {
            // The events are stored; without the store's lists only this replica's recent ones can be credited.
        }
        let listsByShopper = Dictionary(grouping: lists.sorted { $0.servedAtMillis > $1.servedAtMillis }) { $0.shopperKey ?? "" }
        for (event, key, productID) in unnamed {
            let time = event.timestampMillis
            if let list = listsByShopper[key]?.first(where: {
                $0.servedAtMillis <= time + 60_000 && $0.servedAtMillis >= time - attributionWindowMillis && $0.productIDs.contains(productID)
            }) {
                credited.append(AttributedEvent(recommendationID: list.id, shopperKey: key, productID: productID, type: event.type,
                                                quantity: event.quantity, price: event.price, atMillis: time))
            }
        }
        online.append(attributed: credited)
    }

    /// Records which cards of a served list a shopper saw. `shopperID`: the session's shopper,
    /// who may report only lists served to them (nil: a key, which may report any).
    public func recordSeen(recommendationID: String, positions: [Int], shopperID: String?) async throws {
        guard RecommendationID.isWellFormed(recommendationID) else {
            throw OnlineRequestError.invalid(field: "recommendation_id", message: "field 'recommendation_id': '\(recommendationID.prefix(40))' is not a recommendation id")
        }
        var list = online.recentList(id: recommendationID)
        if list == nil { list = try await store.servedList(id: recommendationID) }
        guard let list else { throw OnlineRequestError.unknownList(recommendationID) }
        if let shopperID, let owner = list.shopperKey, owner != store.shopperKey(for: shopperID) { throw OnlineRequestError.otherShoppersList }
        if let bad = positions.first(where: { $0 < 1 || $0 > list.productIDs.count }) {
            throw OnlineRequestError.invalid(field: "seen", message: "field 'seen': position \(bad) is not in the list (1 to \(list.productIDs.count))")
        }
        online.append(seen: SeenReport(recommendationID: recommendationID, positions: Array(Set(positions)).sorted(), atMillis: Timestamps.nowMillis()))
    }

    /// Whether served lists, seen reports and attributions are logged (on by default). Off, lists
    /// still carry ids, but nothing reaches the online report: for measuring what the log costs.
    public var logsOnline: Bool {
        get { online.isEnabled }
        nonmutating set { online.isEnabled = newValue }
    }

    /// Writes what this replica logged to the store (see `OnlineLog`).
    public func flushOnlineLog() async throws { try await online.flush(to: store) }

    /// Entries waiting for the store, and entries dropped because it could not take them.
    public var onlineLogBacklog: (pending: Int, dropped: Int) { (online.pending, online.dropped) }

    /// Reads the running experiments again (every replica, every second), so one started through
    /// another replica or the CLI applies here soon after.
    public func refreshExperiments() async throws {
        let all = try await store.experiments()
        try await prepareVariantRankers(for: all.filter(\.isRunning))
        experiments.replace(with: all)
    }

    /// Removes lists served more than `days` ago, with their reports and attributions.
    public func pruneOnlineLog(olderThanDays days: Int) async throws -> Int {
        try await store.pruneOnlineLog(before: Timestamps.nowMillis() - Int64(days) * 86_400_000)
    }

    /// The online figures of lists served in `[sinceMillis, untilMillis)`, this replica's latest included.
    public func onlineReport(sinceMillis: Int64, untilMillis: Int64, groupBy: [OnlineReport.Grouping]) async throws -> OnlineReport {
        try await flushOnlineLog()
        let slice = try await store.onlineLog(fromMillis: sinceMillis, untilMillis: untilMillis)
        return OnlineReport(slice: slice, groupBy: groupBy, sinceMillis: sinceMillis, untilMillis: untilMillis)
    }

    /// Bytes per stored list, for the README.
    public func servedListFootprint() async throws -> (bytes: Int, lists: Int) { try await store.servedListFootprint() }

    // MARK: - Experiments

    /// Starts an experiment after checking it (`ExperimentRules`), unless another runs on the
    /// surface or the name is taken; returns once every variant's model is loaded.
    public func startExperiment(name: String, surface: Surface, method: Experiment.Method, variants: [Experiment.Variant]) async throws -> Experiment {
        try await ExperimentRules.check(name: name, surface: surface, method: method, variants: variants, store: store)
        let experiment = try await ExperimentRules.create(name: name, surface: surface, method: method, variants: variants, in: store)
        try await refreshExperiments()
        return experiment
    }

    public func experimentList() async throws -> [Experiment] { try await store.experiments() }

    public func stopExperiment(named name: String) async throws -> Experiment {
        let stopped = try await ExperimentRules.stop(named: name, in: store)
        try await refreshExperiments()
        return stopped
    }

    /// How the experiment stands now, from every replica's flushed lists and this replica's latest.
    public func experimentStatus(named name: String) async throws -> ExperimentStatus {
        try await flushOnlineLog()
        return try await ExperimentRules.status(named: name, in: store)
    }
}
