/// A compact, index-based view of a store's behaviour data for training and evaluation.
///
/// Shoppers and products are dense indices (`0..<shopperCount`, `0..<productCount`) so
/// models can use plain arrays; `shopperKeys`/`productKeys` map them back to the
/// pseudonymous shopper key and the shop's product id.
public struct InteractionLog: Sendable {
    public struct Interaction: Sendable, Hashable {
        public var shopper: Int32
        public var product: Int32
        public var type: EventType
        public var timestampMillis: Int64
        /// The stored event's row id, so a split can be persisted and reproduced.
        public var eventID: Int64

        public init(shopper: Int32, product: Int32, type: EventType, timestampMillis: Int64, eventID: Int64) {
            self.shopper = shopper
            self.product = product
            self.type = type
            self.timestampMillis = timestampMillis
            self.eventID = eventID
        }
    }

    public var shopperKeys: [String]
    public var productKeys: [String]
    /// Sorted by (shopper, timestamp, eventID): each shopper's history is contiguous and in order.
    public var interactions: [Interaction]

    public init(shopperKeys: [String], productKeys: [String], interactions: [Interaction]) {
        self.shopperKeys = shopperKeys
        self.productKeys = productKeys
        self.interactions = interactions.sorted {
            ($0.shopper, $0.timestampMillis, $0.eventID) < ($1.shopper, $1.timestampMillis, $1.eventID)
        }
    }

    public var shopperCount: Int { shopperKeys.count }
    public var productCount: Int { productKeys.count }

    /// Ranges into `interactions`, one per shopper index (empty for shoppers without events).
    public func historyRanges() -> [Range<Int>] {
        var ranges = [Range<Int>](repeating: 0..<0, count: shopperCount)
        var start = 0
        while start < interactions.count {
            let shopper = interactions[start].shopper
            var end = start + 1
            while end < interactions.count && interactions[end].shopper == shopper { end += 1 }
            ranges[Int(shopper)] = start..<end
            start = end
        }
        return ranges
    }
}

extension InteractionLog {
    /// Builds a log from a store's rows, whichever store: live products and shoppers by row id,
    /// each added in row-id order, then events naming them by row id. Events of products that are
    /// not live (deleted) are left out.
    public struct Builder {
        private var productIndex: [Int64: Int32] = [:]
        private var productKeys: [String] = []
        private var shopperIndex: [Int64: Int32] = [:]
        private var shopperKeys: [String] = []
        private var interactions: [Interaction] = []

        public init() {}

        public mutating func addProduct(rowID: Int64, key: String) {
            productIndex[rowID] = Int32(productKeys.count)
            productKeys.append(key)
        }

        public mutating func addShopper(rowID: Int64, key: String) {
            shopperIndex[rowID] = Int32(shopperKeys.count)
            shopperKeys.append(key)
        }

        public mutating func addEvent(id: Int64, shopperRowID: Int64, productRowID: Int64, typeCode: Int, timestampMillis: Int64) {
            guard let product = productIndex[productRowID], let shopper = shopperIndex[shopperRowID] else { return }
            interactions.append(Interaction(shopper: shopper, product: product, type: EventType(code: typeCode) ?? .view,
                                            timestampMillis: timestampMillis, eventID: id))
        }

        public func build() -> InteractionLog {
            InteractionLog(shopperKeys: shopperKeys, productKeys: productKeys, interactions: interactions)
        }
    }
}
