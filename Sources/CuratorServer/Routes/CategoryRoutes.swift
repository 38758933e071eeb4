import CuratorEngine
import Hummingbird

/// `GET /v1/categories`: departments and category paths with their product counts.
struct CategoryController: Sendable {
    /// Who may read the catalogue.
    let access: AccessPolicy
    /// The catalogue the tree is counted from, in memory.
    let engine: RecommendationEngine

    struct CategoryCount: Encodable, Sendable {
        var name: String
        var count: Int
    }

    struct CategoryTree: ResponseEncodable, Sendable {
        var departments: [CategoryCount]
        var categories: [CategoryCount]
    }

    func addRoutes(to categories: RouterGroup<CuratorRequestContext>) {
        categories.get { _, context in
            try access.requireCatalogueRead(context.credential)
            let tree = engine.categories()
            return CategoryTree(departments: tree.departments.map { CategoryCount(name: $0.name, count: $0.count) },
                                categories: tree.categories.map { CategoryCount(name: $0.name, count: $0.count) })
        }
    }
}
