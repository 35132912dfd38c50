using Foresight.Core;
using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;
using Foresight.Core.Insights;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Insights;

/// <summary>
/// Literature imports in short transactions (issue 23). One import of a 100 MB export held the write gate for 57 s,
/// and every expert's save waited behind it. Now the file is read, checked and deduplicated in the request, outside
/// the gate; its records are then written a batch at a time, each batch one write transaction of at most
/// <see cref="BatchTime"/>, so the answer writer and the other writers take their turn between two batches.
/// The import's row holds its state (importing, done, failed) and its progress (done of total, updated in each batch's
/// transaction); its records are seen only once it is done (<see cref="Literature.Visible"/>), so a half import never
/// looks complete. An import that fails, or that a stopped server left behind (marked failed at the next start), has
/// its records removed, in batches too. One import at a time per survey: the one being written holds keys that another
/// would count as duplicates.
/// </summary>
public sealed class LiteratureImports(Db db, TimeProvider clock, ILogger<LiteratureImports> log) : IHostedLifecycleService
{
    /// <summary>
    /// The longest a batch holds the write gate. A save that arrives during a batch waits at most this long for it;
    /// at 50 ms a batch writes about 300-600 records on a 2-core machine (docs/benchmarks.md, issue 23).
    /// </summary>
    public TimeSpan BatchTime { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The most records in one batch, whose keys and search terms are worked out before the gate is taken.</summary>
    public int BatchRecords { get; set; } = 2000;

    /// <summary>A file of up to this many records is written within the request (200, as before); a larger one in the background (202).</summary>
    public int InlineRecords { get; set; } = 1000;

    /// <summary>For tests: awaited after each committed batch (import id, records done), with the write gate released.</summary>
    public Func<long, int, Task>? AfterBatch { get; set; }

    public const string StoppedError = "The server stopped during the import; none of its records were kept. Import the file again.";
    const string FailedError = "The import stopped with an error on the server (see its log); none of its records were kept. Import the file again.";

    readonly CancellationTokenSource _stopping = new();
    readonly ConcurrentDictionary<long, Task> _running = new();

    /// <summary>What <see cref="StartAsync(SurveyRef, string, ImportResult, long?)"/> started: the import, done or still being written in the
    /// background.</summary>
    public sealed record Started(LiteratureImportView View, bool InBackground);

    /// <summary>
    /// Starts the import of records read from a file: refused while another import of the survey is being written or
    /// removed; written within the call for a small file, else in the background.
    /// </summary>
    public async Task<Outcome<Started>> StartAsync(SurveyRef survey, string fileName, ImportResult file, long? userId)
    {
        long importId;
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            var busy = await c.QueryFirstOrDefaultAsync<(string FileName, string Status, long Done, long Total)>("""
                SELECT i.file_name, i.status, i.done, i.total FROM literature_imports i WHERE i.survey_id = @Id
                AND (i.status = 'importing' OR i.status = 'failed' AND EXISTS (SELECT 1 FROM literature_records r WHERE r.import_id = i.id))
                """, new { survey.Id }, tx);
            var busyStatus = busy.Status is null ? null : ImportStatus.Parse(busy.Status);
            if (busyStatus == ImportStatus.Importing)
                return Refusal.Conflict($"An import into this survey is running ({busy.FileName}: {busy.Done:N0} of {busy.Total:N0} records written). Import " +
                    $"{fileName} when it has finished.");
            if (busyStatus == ImportStatus.Failed)
                return Refusal.Conflict($"The records of a failed import ({busy.FileName}) are still being removed. Import {fileName} again in a minute.");
            importId = await Literature.BeginAsync(c, tx, survey.Id, fileName, file, userId, clock.GetUtcNow());
            await tx.CommitAsync();
        }
        var work = RunAsync(importId, survey.Id, fileName, file, userId);
        if (file.Records.Count > InlineRecords)
        {
            _running[importId] = work;
            _ = work.ContinueWith(_ => _running.TryRemove(importId, out var _), TaskScheduler.Default);
            return new Started((await ViewAsync(survey.Id, importId))!, true);
        }
        await work;
        var view = await ViewAsync(survey.Id, importId);
        return view!.Status == ImportStatus.Failed
            ? new Refusal(StatusCodes.Status500InternalServerError, "Import failed", view.Error!)
            : new Started(view, false);
    }

    async Task<LiteratureImportView?> ViewAsync(long surveyId, long importId)
    {
        await using var c = await db.OpenAsync();
        return (await Literature.ImportsAsync(c, surveyId, null, importId)).SingleOrDefault();
    }

    /// <summary>Writes the import's records batch by batch; on failure marks it failed and removes what it wrote.</summary>
    async Task RunAsync(long importId, long surveyId, string fileName, ImportResult file, long? userId)
    {
        // Off the request's thread at once: a background import must not run its first batch inside the request.
        await Task.Yield();
        var stop = _stopping.Token;
        try
        {
            await WriteAsync(importId, surveyId, fileName, file, userId, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping: marked failed now if the gate comes in time, else at the next start; the records go then.
            log.LogWarning("Literature import {Id} ({File}) was stopped with the server", importId, fileName);
            try { await FailAsync(importId, surveyId, StoppedError, CancellationToken.None); }
            catch (Exception e) { log.LogWarning(e, "Literature import {Id} could not be marked failed; the next start does it", importId); }
        }
        catch (Exception e)
        {
            log.LogError(e, "Literature import {Id} ({File}) failed", importId, fileName);
            try
            {
                await FailAsync(importId, surveyId, FailedError, CancellationToken.None);
                await RemoveAsync(importId, stop);
            }
            catch (Exception again) { log.LogError(again, "Literature import {Id}: its records could not be removed; the next start removes them", importId); }
        }
    }

    async Task WriteAsync(long importId, long surveyId, string fileName, ImportResult file, long? userId, CancellationToken stop)
    {
        var records = file.Records;
        // Duplicates within the file are known before anything is written; against the survey, the unique key
        // (survey, dedup key) finds them, including records of this import's earlier batches.
        var kept = new HashSet<LiteratureRecord>(Deduplication.Distinct(records).Records, ReferenceEqualityComparer.Instance);
        var ahead = new Queue<(LiteratureRecord Record, string? Key, string? Terms)>();
        int done = 0, added = 0, duplicates = 0;
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            // The keys and search terms of the next records are worked out outside the gate (tokenizing is most of the CPU).
            while (ahead.Count < BatchRecords && done + ahead.Count < records.Count)
            {
                var r = records[done + ahead.Count];
                ahead.Enqueue(kept.Contains(r) ? (r, Deduplication.Key(r), Literature.Terms(r.Text)) : (r, null, null));
            }
            bool last;
            await using (var w = await db.BeginWriteAsync(stop))
            {
                var (c, tx) = w;
                // Gone (its survey was deleted) or no longer importing: nothing more to write.
                var status = await c.ExecuteScalarAsync<string?>("SELECT status FROM literature_imports WHERE id = @importId", new { importId }, tx);
                if (status is null || ImportStatus.Parse(status) != ImportStatus.Importing)
                {
                    log.LogInformation("Literature import {Id} ({File}) ended: its survey or its row is gone", importId, fileName);
                    return;
                }
                var batch = Stopwatch.StartNew();
                using (var writer = new Literature.RecordWriter(c, tx, surveyId, importId))
                    do
                    {
                        var (r, key, terms) = ahead.Dequeue();
                        if (key is not null && writer.Add(r, key, terms!)) added++;
                        else duplicates++;
                        done++;
                    }
                    while (ahead.Count > 0 && batch.Elapsed < BatchTime);
                last = done == records.Count;
                await c.ExecuteAsync("""
                    UPDATE literature_imports SET done = @done, added = @added, duplicates = @duplicates,
                        status = CASE WHEN @last THEN 'done' ELSE status END, finished_at = CASE WHEN @last THEN @now END
                    WHERE id = @importId
                    """, new { done, added, duplicates, last, now = Db.Iso(clock.GetUtcNow()), importId }, tx);
                if (last)
                    await Audit.LogAsync(c, tx, clock, userId, surveyId, "insights.records.imported",
                        new { file = fileName, format = Literature.FormatName(file.Format), added, duplicates, errors = file.Errors.Count });
                await tx.CommitAsync();
            }
            if (AfterBatch is { } hook) await hook(importId, done);
            if (last) return;
        }
    }

    async Task FailAsync(long importId, long surveyId, string error, CancellationToken ct)
    {
        await using var w = await db.BeginWriteAsync(ct);
        var (c, tx) = w;
        if (await c.ExecuteAsync(
            "UPDATE literature_imports SET status = 'failed', error = @error, finished_at = @now WHERE id = @importId AND status = 'importing'",
                new { error, now = Db.Iso(clock.GetUtcNow()), importId }, tx) == 0) return;
        await Audit.LogAsync(c, tx, clock, null, surveyId, "insights.records.import_failed", new { import = importId, error });
        await tx.CommitAsync();
    }

    /// <summary>Removes a failed import's records (and their search entries), a batch at a time like the writes.</summary>
    async Task RemoveAsync(long importId, CancellationToken stop)
    {
        int removed = 0;
        while (true)
        {
            await using var w = await db.BeginWriteAsync(stop);
            var (c, tx) = w;
            var batch = Stopwatch.StartNew();
            int now = 0;
            do
            {
                var ids = (await c.QueryAsync<long>("SELECT id FROM literature_records WHERE import_id = @importId LIMIT 200", new { importId }, tx)).ToList();
                if (ids.Count == 0) break;
                await c.ExecuteAsync("DELETE FROM literature_search WHERE rowid IN @ids", new { ids }, tx);
                await c.ExecuteAsync("DELETE FROM literature_records WHERE id IN @ids", new { ids }, tx);
                now += ids.Count;
            }
            while (batch.Elapsed < BatchTime);
            await tx.CommitAsync();
            removed += now;
            if (now == 0) break;
        }
        if (removed > 0) log.LogInformation("Literature import {Id} failed: its {Count} records were removed", importId, removed);
    }

    /// <summary>
    /// Before the server takes requests: imports a stopped server left in the state importing are failed (their work
    /// was in that process), so none shows as running; then the records of failed imports are removed in the background.
    /// </summary>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        List<long> failed;
        await using (var w = await db.BeginWriteAsync(cancellationToken))
        {
            var (c, tx) = w;
            var stopped = (await c.QueryAsync<(long Id, long SurveyId)>("SELECT id, survey_id FROM literature_imports WHERE status = 'importing'",
                transaction: tx)).ToList();
            foreach (var (id, surveyId) in stopped)
            {
                await c.ExecuteAsync("UPDATE literature_imports SET status = 'failed', error = @error, finished_at = @now WHERE id = @id",
                    new { error = StoppedError, now = Db.Iso(clock.GetUtcNow()), id }, tx);
                await Audit.LogAsync(c, tx, clock, null, surveyId, "insights.records.import_failed", new { import = id, error = StoppedError });
            }
            failed = (await c.QueryAsync<long>(
                "SELECT i.id FROM literature_imports i WHERE i.status = 'failed' AND EXISTS (SELECT 1 FROM literature_records r WHERE r.import_id = i.id)",
                transaction: tx)).ToList();
            await tx.CommitAsync();
            foreach (var (id,
                _) in stopped) log.LogWarning("Literature import {Id} was cut short by a stop of the server; it is marked failed and its records are removed",
                    id);
        }
        foreach (var id in failed)
        {
            var removal = Task.Run(async () =>
            {
                try { await RemoveAsync(id, _stopping.Token); }
                catch (OperationCanceledException) { }
                catch (Exception e) { log.LogError(e, "The records of failed literature import {Id} could not be removed", id); }
            });
            _running[-id] = removal;
            _ = removal.ContinueWith(_ => _running.TryRemove(-id, out var _), TaskScheduler.Default);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    /// <summary>Waits (as long as the host lets it) for running imports to mark themselves failed.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        try { await Task.WhenAll(_running.Values).WaitAsync(cancellationToken); }
        catch (OperationCanceledException) { }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
