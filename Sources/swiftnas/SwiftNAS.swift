import ArgumentParser

/// The `swiftnas` command-line tool: one subcommand per job.
@main
struct SwiftNAS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftnas",
        abstract: "Neural architecture search: search spaces × strategies × estimators.",
        subcommands: Self.commands)

    /// Subcommands, one file each in this folder.
    static let commands: [ParsableCommand.Type] = [
        TrainCommand.self,
        EngineBenchCommand.self,
        BenchZeroCostCommand.self,
        SearchCommand.self,
        TrialsCommand.self,
        BenchStrategiesCommand.self,
        BenchSupernetStepCommand.self,
        NAGOCommand.self,
    ]
}
