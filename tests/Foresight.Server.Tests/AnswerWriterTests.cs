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
        // 6 experts save at once, each save a change: every commit adds several frames (the answers, their topic
        // index, the history and its index).
        await Task.WhenAll(Enumerable.Range(0, 6).Select(async e =>
        {
            for (int i = 0; i < 100; i++)
                await study.AnswerAsync(e, QuickStudy.Topics[i % QuickStudy.Topics.Length], QuickStudy.Answer(2 + i % 5, 2030 + i % 7));
        }));
        var wal = new FileInfo(_app.DatabasePath + "-wal");
        Assert.True(wal.Exists);
        // Started over, the file keeps the size of its longest stretch (under 1 MiB here); without the checkpointer
        // (only the writer's own checkpoint every 500 batches) it reached 4.7 MiB.
        Assert.True(wal.Length < 2 * 1024 * 1024, $"the WAL is {wal.Length / 1024} KiB: it did not start over");
        // Every save is stored, each a change.
        await using var c = await _app.Services.GetRequiredService<Foresight.Server.Plumbing.Db>().OpenAsync();
        Assert.Equal(600, await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, "SELECT COUNT(*) FROM answer_history"));
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
        var readers = new[] { Task.Run(() => ReadAsync(0)), Task.Run(() => ReadAsync(4)) };
        // The saves go on until the readers have overlapped them long enough (faster saves once ended first).
        await Task.WhenAll(Enumerable.Range(0, 6).Select(async e =>
        {
            for (int i = 0; i < 2000 && (i < 100 || Interlocked.Read(ref reads) <= 150); i++)
                await study.AnswerAsync(e, QuickStudy.Topics[i % QuickStudy.Topics.Length], QuickStudy.Answer(2 + i % 5, 2030 + i % 7));
        }));
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.True(reads > 100, $"the readers read only {reads} times");
        var wal = new FileInfo(_app.DatabasePath + "-wal");
        Assert.True(wal.Length < 2 * 1024 * 1024, $"the WAL is {wal.Length / 1024} KiB: it did not start over");
    }
}

[CollectionDefinition(AnswerWriterTests.Name, DisableParallelization = true)]
public sealed class AnswerWriterAlone;
