using Microsoft.AspNetCore.Http.HttpResults;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Why an application service did not do what it was asked, in words a person can act on. The API answers it as a
/// ProblemDetails with its status; a console page shows it beside the form.
/// </summary>
public sealed record Refusal(int Status, string Title, string Detail, IReadOnlyList<object>? Errors = null)
{
    public static Refusal BadRequest(string detail, IEnumerable<object>? errors = null) =>
        new(StatusCodes.Status400BadRequest, "The request is not valid", detail, errors?.ToList());

    public static Refusal NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found", detail);

    public static Refusal Conflict(string detail) => new(StatusCodes.Status409Conflict, "Not possible now", detail);

    public static Refusal Forbidden(string detail) => new(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public ProblemHttpResult ToProblem() => Problems.Make(Status, Title, Detail, Errors);
}

/// <summary>What an application service gives back: its result, or a <see cref="Refusal"/>.</summary>
public readonly struct Outcome<T>
{
    public T? Value { get; }
    public Refusal? Refusal { get; }

    Outcome(T? value, Refusal? refusal)
    {
        Value = value;
        Refusal = refusal;
    }

    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static implicit operator Outcome<T>(Refusal refusal) => new(default, refusal);

    /// <summary>The API's answer: the result through <paramref name="ok"/>, or the refusal as a ProblemDetails.</summary>
    public Results<TOk, ProblemHttpResult> ToHttp<TOk>(Func<T, TOk> ok) where TOk : IResult =>
        Refusal is { } r ? r.ToProblem() : ok(Value!);
}

/// <summary>An outcome without a value (the service did it, or refused).</summary>
public readonly record struct Done;

public static class OutcomeExtensions
{
    public static async Task<Results<TOk, ProblemHttpResult>> ToHttp<T, TOk>(this Task<Outcome<T>> outcome, Func<T, TOk> ok) where TOk : IResult =>
        (await outcome).ToHttp(ok);

    public static Task<Results<NoContent, ProblemHttpResult>> ToNoContent(this Task<Outcome<Done>> outcome) =>
        outcome.ToHttp(_ => TypedResults.NoContent());
}
