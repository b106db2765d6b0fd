import ArgumentParser
import Foundation
import NASTensor

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
        ExportCommand.self,
        PruneCommand.self,
        EngineBenchCommand.self,
        BenchZeroCostCommand.self,
        SearchCommand.self,
        WorkerCommand.self,
        TrialsCommand.self,
        ReportCommand.self,
        DashboardCommand.self,
        BenchStrategiesCommand.self,
        BenchSupernetStepCommand.self,
        NAGOCommand.self,
        FuzzCommand.self,
        ScoreCommand.self,
        LayerNormGradientsCommand.self,
        LayerNormTrainingCommand.self,
        FederatedCommand.self,
    ]

    /// Parses and runs the subcommand. Ctrl-C and SIGTERM stop long work at a point where its
    /// state is saved; the process then says how to resume and exits with 128 + the signal.
    static func main() {
        StopRequest.installHandlers()
        do {
            if let s = ProcessInfo.processInfo.environment["SWIFTNAS_THREADS"], !(Int(s).map { (1...1024).contains($0) } ?? false) {
                throw ValidationError("the environment variable SWIFTNAS_THREADS is '\(s.prefix(40))'; it must be a thread count from 1 to 1024")
            }
            var command = try parseAsRoot()
            try command.run()
        } catch let stop as StopRequest.Interrupted {
            FileHandle.standardError.write(Data(("\nswiftnas: \(stop); all finished work is saved. "
                + "Run the same command again to resume (for swiftnas train, add --resume).\n").utf8))
            Foundation.exit(128 + stop.signal)
        } catch {
            exit(withError: error)
        }
    }
}
