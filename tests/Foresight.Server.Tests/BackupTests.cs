using System.Diagnostics;
using Foresight.Cli;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>`foresight backup` of a running server's database while experts answer, and `foresight restore` of it elsewhere.</summary>
public sealed class BackupTests(ITestOutputHelper output)
{
    const int Experts = 24;

    /// <summary>Runs the `foresight` command (the Release build beside the server's) as its own process, as an operator would.</summary>
    static async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        var dll = Path.Combine(Repository.Root(), "src/Foresight.Cli/bin/Release/net10.0/foresight.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"The Release build of the command is missing; build it first: dotnet build Foresight.sln -c Release (looked for " +
                $"{dll})", dll);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Prepend(dll)) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_backup_of_a_running_server_under_answer_load_restores_to_a_server_with_every_answer_acknowledged_before_it()
    {
        var clock = Stopwatch.StartNew();
        var dir = Directory.CreateTempSubdirectory("foresight-backup").FullName;
        ServerProcess? live = null, restored = null;
        try
        {
            live = await ServerProcess.StartAsync(Path.Combine(dir, "live"), []);
            var study = await ProcessStudy.CreateAsync(live.Address, Experts);
            var load = new AnswerLoad(Experts);
            using var stop = new CancellationTokenSource();
            var running = load.RunAsync(live.Address, study.Secrets, stop.Token);
            await Wait.UntilAsync(() => load.Acked >= 300 || running.IsCompleted, "300 answers acknowledged", pollMs: 5);
            if (running.IsCompleted) Assert.Fail("the load ended early: " + string.Join("; ", await running));

            var backup = Path.Combine(dir, "backup.db");
            int ackedBefore = load.Acked;
            long backupStart = Stopwatch.GetTimestamp();
            var (code, text, err) = await CliAsync("backup", live.Database, backup);
            long backupEnd = Stopwatch.GetTimestamp();
            int ackedDuring = load.Acked - ackedBefore;
            Assert.True(code == 0, err);
            output.WriteLine(text.TrimEnd());

            // The server has the database open, so a restore onto it is refused and changes nothing.
            var refused = await CliAsync("restore", backup, live.Database);
            Assert.Equal(CliApp.Failed, refused.Code);
            Assert.Contains("is in use", refused.Err);
            output.WriteLine("restore onto the running server's database: exit code 1: " + refused.Err.Trim());

            // Answers go on after the backup (none of them may be in it): a save from every expert, sent after it ended, acknowledged.
            await Wait.UntilAsync(() => load.Writes.Count(w => w.SentAt > backupEnd && w.AckedAt is not null) >= Experts || running.IsCompleted,
                "answers acknowledged after the backup", pollMs: 20);
            stop.Cancel();
            var unexpected = await running;
            Assert.True(unexpected.Count == 0, "failures during the load: " + string.Join("\n", unexpected.Take(10)));
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "live"), "*.before-restore-*"));

            // Restored to a new place, a server starts on it and has every answer acknowledged before the backup began;
            // one sent before it ended may be there, none sent after.
            var restoredDb = Path.Combine(dir, "restored", "foresight.db");
            Directory.CreateDirectory(Path.GetDirectoryName(restoredDb)!);
            (code, text, err) = await CliAsync("restore", backup, restoredDb);
            Assert.True(code == 0, err);
            output.WriteLine(text.TrimEnd());
            restored = await ServerProcess.StartAsync(Path.GetDirectoryName(restoredDb), []);
            var stored = new Dictionary<(int, int), int?>();
            var check = load.Verify(restoredDb, study, stored, 0, backupStart, backupEnd);
            int served = await AnswerLoad.VerifyThroughApiAsync(restored.Address, study, stored);
            int after = load.Writes.Count(w => w.SentAt > backupEnd);
            output.WriteLine($"{load.Writes.Count()} requests, {load.Acked} acknowledged; {ackedBefore} acknowledged before the backup began, {ackedDuring} " +
                $"while it ran, {after} sent after it ended");
            output.WriteLine($"restored copy on a new server: of {check.AckedChecked} pairs with an answer acknowledged before the backup, " +
                $"{check.AckedFound} hold exactly it and " +
                $"{check.AckedSuperseded} a later write sent before the backup ended; {check.AckedInHistory} acknowledged saves in the history; {served} " +
                "topic sheets read through the API match; " +
                $"integrity_check: {check.Integrity}; {clock.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal(check.AckedChecked, check.AckedFound + check.AckedSuperseded);
            Assert.Equal("ok", check.Integrity);
        }
        catch when (live is not null)
        {
            output.WriteLine("server output:\n" + live.RecentOutput + (restored is null ? "" : "\nrestored server output:\n" + restored.RecentOutput));
            throw;
        }
        finally
        {
            if (live is not null) await live.DisposeAsync();
            if (restored is not null) await restored.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
