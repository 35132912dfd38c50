using System.Diagnostics;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 8: "an answer acknowledged with 2xx survives a crash". The real server (Release build, its own process)
/// takes answers from many experts at once and is killed with SIGKILL in the middle of it, then started again on
/// the same database file, several times over; every acknowledged answer must be there with exactly its values.
/// Runs with the default synchronous = NORMAL (WAL), which is meant to survive a process crash.
/// </summary>
public sealed class DurabilityTests(ITestOutputHelper output)
{
    const int Experts = 48, Cycles = 3;

    [Fact]
    public async Task Every_answer_acknowledged_before_a_SIGKILL_under_load_is_stored_exactly_after_a_restart()
    {
        var total = Stopwatch.StartNew();
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var dir = Directory.CreateTempSubdirectory("foresight-durability").FullName;
        var db = Path.Combine(dir, "foresight.db");
        ServerProcess? server = null;
        try
        {
            server = await ServerProcess.StartAsync(dir, []);
            var study = await ProcessStudy.CreateAsync(server.Address, Experts);
            output.WriteLine($"{Experts} experts x {QuickStudy.Topics.Length} topics, synchronous NORMAL (the default), seed {seed}; start and set-up " +
                $"{total.Elapsed.TotalSeconds:0.0} s");
            var load = new AnswerLoad(Experts);
            var baseline = new Dictionary<(int, int), int?>();
            for (int cycle = 1; cycle <= Cycles; cycle++)
            {
                var clock = Stopwatch.StartNew();
                int ackedBefore = load.Acked;
                // Kill at a different point of the load each cycle.
                int killAfter = 150 + random.Next(850);
                long since = Stopwatch.GetTimestamp();
                bool killing = false;
                // The load runs on through the kill: each expert's client stops at its first failure once the server is gone.
                var running = load.RunAsync(server.Address, study.Secrets, CancellationToken.None, () => Volatile.Read(ref killing));
                var until = DateTime.UtcNow.AddSeconds(20);
                while (load.Acked - ackedBefore < killAfter && !running.IsCompleted && DateTime.UtcNow < until) await Task.Delay(2);
                if (running.IsCompleted) Assert.Fail("the load ended before the kill: " + string.Join("; ", await running));

                // The process killed is the server itself: `dotnet Foresight.Server.dll` runs the app in that process.
                int pid = server.Pid;
                Assert.Contains("Foresight.Server.dll", await File.ReadAllTextAsync($"/proc/{pid}/cmdline"));
                Volatile.Write(ref killing, true);
                await server.KillAsync();
                long goneAt = Stopwatch.GetTimestamp(); // no request sent after this can have been stored
                var unexpected = await running;
                Assert.True(server.HasExited && !Directory.Exists($"/proc/{pid}"), "the server process is still there");
                int exitCode = server.ExitCode;
                Assert.Equal(128 + 9, exitCode); // died of SIGKILL
                Assert.True(unexpected.Count == 0, "failures before the kill: " + string.Join("\n", unexpected.Take(10)));
                var cycleWrites = load.Writes.Where(w => w.SentAt >= since).ToList();
                // In flight: sent before the process was gone and not acknowledged (the test's thread may lose the CPU
                // between killAt and the kill itself, so requests sent in between count too).
                int tried = cycleWrites.Count(w => w.SentAt < goneAt), acked = cycleWrites.Count(w => w.AckedAt is not null);
                int inFlight = cycleWrites.Count(w => w.AckedAt is null && w.SentAt < goneAt);
                int refused = cycleWrites.Count(w => w.SentAt >= goneAt);
                Assert.True(inFlight > 0, "no request was in flight at the kill");
                long wal = File.Exists(db + "-wal") ? new FileInfo(db + "-wal").Length : 0;
                var loadTime = clock.Elapsed;

                await server.DisposeAsync();
                server = null;
                var restart = Stopwatch.StartNew();
                server = await ServerProcess.StartAsync(dir, []);
                var restartTime = restart.Elapsed;
                // A request sent after the process was gone must not be stored; one sent before may or may not be.
                var check = load.Verify(db, study, baseline, since, long.MaxValue, goneAt);
                output.WriteLine($"cycle {cycle}: {tried} requests tried, {acked} acknowledged (2xx), {inFlight} in flight at the kill " +
                    $"({refused} more refused after it; exit code {exitCode}) after {loadTime.TotalSeconds:0.0} s of load; " +
                    $"WAL {wal / 1024.0:0} KiB at the kill; restart {restartTime.TotalSeconds:0.0} s");
                output.WriteLine($"  after restart: of {check.AckedChecked} (expert, topic) pairs with an acknowledged answer ({check.Pairs} pairs), " +
                    $"{check.AckedFound} hold exactly the last acknowledged values " +
                    $"and {check.AckedSuperseded} a later write that was in flight; {check.AckedInHistory} of {load.Acked} acknowledged saves (all cycles) " +
                    "are in the answer history; " +
                    $"in flight: {check.InFlightFound} stored, {check.InFlightNotFound} not stored; integrity_check: {check.Integrity}");
                Assert.Equal(check.AckedChecked, check.AckedFound + check.AckedSuperseded);
                Assert.Equal(load.Acked, check.AckedInHistory);
                Assert.Equal("ok", check.Integrity);
            }

            // The restarted server serves what the file holds.
            int served = await AnswerLoad.VerifyThroughApiAsync(server.Address, study, baseline);

            // A graceful stop after all that leaves a whole file too.
            Assert.True(await server.StopAsync(), "the server did not stop by itself on SIGTERM (it was killed)");
            var final = load.Verify(db, study, baseline, Stopwatch.GetTimestamp(), long.MaxValue, long.MaxValue);
            output.WriteLine($"after the last restart: {served} topic sheets read through the API match the file; stopped with SIGTERM (exit code " +
                $"{server.ExitCode}); " +
                $"{final.AckedFound} of {final.AckedChecked} answers and {final.AckedInHistory} acknowledged saves found, integrity_check: " +
                $"{final.Integrity}; whole test {total.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal(final.AckedChecked, final.AckedFound);
            Assert.Equal("ok", final.Integrity);
        }
        catch when (server is not null)
        {
            output.WriteLine("server output:\n" + server.RecentOutput);
            throw;
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
