using Foresight.Server.Features.Questionnaire;
using Foresight.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>
/// The answer writer's connection no longer checkpoints in its commits (issue 9): a checkpointer beside it does, and
/// the writer starts the WAL over once it is long. The WAL must stay bounded while answers are saved. (That it also
/// starts over under a load that never pauses is shown by the national benchmark's WAL samples.)
/// </summary>
[Collection(Name)]
public sealed class AnswerWriterTests : IDisposable
{
    // Alone, not beside the other test classes: how soon readers let go of the WAL depends on the CPU they get.
    public const string Name = "answer writer, alone";

    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task The_WAL_stays_bounded_while_answers_are_saved()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        var writer = _app.Services.GetRequiredService<AnswerWriter>();
        writer.RestartFrames = 40; // frames, so that a short test crosses it many times
        var restartsBefore = WalRestarts();
        // 6 experts save at once, each save a change: every commit adds several frames (the answers, their topic
        // index, the history and its index).
        await Task.WhenAll(Enumerable.Range(0, 6).Select(async e =>
        {
            for (int i = 0; i < Saves; i++)
                await study.AnswerAsync(e, QuickStudy.Topics[i % QuickStudy.Topics.Length], QuickStudy.Answer(2 + i % 5, 2030 + i % 7));
        }));
        AssertStartedOver(restartsBefore);
        // Every save is stored, each a change.
        await using var c = await _app.Services.GetRequiredService<Foresight.Server.Plumbing.Db>().OpenAsync();
        Assert.Equal(6 * Saves, await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, "SELECT COUNT(*) FROM answer_history"));
    }

    [Fact]
    public async Task The_WAL_starts_over_even_when_a_reader_always_holds_it()
    {
        // Two readers take turns so that at every moment one of them is inside a read transaction, as requests on a
        // busy (or CPU-starved) server are. A WAL can only start over once no reader is using it: the writer has to
        // wait for the readers of the moment to finish, not hope to find a moment with none.
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        var writer = _app.Services.GetRequiredService<AnswerWriter>();
        writer.RestartFrames = 40;
        var db = _app.Services.GetRequiredService<Foresight.Server.Plumbing.Db>();
        using var stop = new CancellationTokenSource();
        long reads = 0;
        async Task ReadAsync(int offsetMs)
        {
            await using var c = await db.OpenAsync();
            await Task.Delay(offsetMs);
            while (!stop.IsCancellationRequested)
            {
                await using var tx = c.BeginTransaction(deferred: true);
                await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, "SELECT COUNT(*) FROM answers", transaction: tx);
                Interlocked.Increment(ref reads);
                Thread.Sleep(8); // a snapshot held across the other reader's start
                tx.Commit();
            }
        }
        var restartsBefore = WalRestarts();
        var readers = new[] { Task.Run(() => ReadAsync(0)), Task.Run(() => ReadAsync(4)) };
        // The saves go on until the readers have overlapped them long enough (faster saves once ended first).
        await Task.WhenAll(Enumerable.Range(0, 6).Select(async e =>
        {
            for (int i = 0; i < 2000 && (i < Saves || Interlocked.Read(ref reads) <= 150); i++)
                await study.AnswerAsync(e, QuickStudy.Topics[i % QuickStudy.Topics.Length], QuickStudy.Answer(2 + i % 5, 2030 + i % 7));
        }));
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.True(reads > 100, $"the readers read only {reads} times");
        AssertStartedOver(restartsBefore);
    }

    // Saves per expert: 6 × 300 saves fill a WAL of about 15 MiB that never starts over.
    const int Saves = 300;

    /// <summary>
    /// How many times the WAL has started over: the checkpoint sequence number in its header (bytes 12-15, big-endian),
    /// which SQLite increments each time a write begins the WAL anew.
    /// </summary>
    uint WalRestarts()
    {
        using var wal = new FileStream(_app.DatabasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[16];
        wal.ReadExactly(header);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
    }

    void AssertStartedOver(uint restartsBefore)
    {
        // Started over 13-41 times here, the file keeps the size of its longest stretch: 0.8-2 MiB, and up to 2.5 MiB
        // in full test runs on a fast machine (more saves between the checkpointer's passes). Without the checkpointer
        // (only the writer's own restart every 500 batches) the first test's WAL started over 0 times and reached
        // 15 MiB, the second's 2 times and 5.8 MiB. The count, not the size, is what timing cannot blur.
        var restarts = WalRestarts() - restartsBefore;
        Assert.True(restarts >= 5, $"the WAL started over {restarts} times");
        var wal = new FileInfo(_app.DatabasePath + "-wal");
        Assert.True(wal.Length < 4 * 1024 * 1024, $"the WAL is {wal.Length / 1024} KiB after starting over {restarts} times");
    }
}

[CollectionDefinition(AnswerWriterTests.Name, DisableParallelization = true)]
public sealed class AnswerWriterAlone;
