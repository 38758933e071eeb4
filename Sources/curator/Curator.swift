import ArgumentParser

@main
struct Curator: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "curator", abstract: "Product recommendations from a language model.")
}
