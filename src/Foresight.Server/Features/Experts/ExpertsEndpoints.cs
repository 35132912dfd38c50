using System.Net.Mail;
using System.Security.Claims;
using Dapper;
using Foresight.Core.LongFormat;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Experts;

public sealed record ExpertView(
    long Id, string Name, string Email, string? Organisation, string? OrgType, string? Region, string? Work,
    IReadOnlyList<string> Expertise, string Language, string CreatedAt);

public sealed record ExpertInput(
    string Name, string Email, string? Organisation = null, string? OrgType = null, string? Region = null, string? Work = null,
    IReadOnlyList<string>? Expertise = null, string? Language = null) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) yield return "name is required";
        else if (Name.Length > 200) yield return "name is longer than 200 characters";
        if (!ExpertService.IsEmail(Email)) yield return $"email '{Email}' is not an e-mail address";
        if (Language is not null && Languages.Normalize(Language) is null) yield return $"language must be zh-CN or en, not '{Language}'";
        foreach (var (name, value) in new[] { ("organisation", Organisation), ("org_type", OrgType), ("region", Region), ("work", Work) })
            if (value is { Length: > 200 }) yield return $"{name} is longer than 200 characters";
        if (Expertise is { Count: > 50 }) yield return "expertise lists more than 50 entries";
    }
}

/// <param name="Kept">rows naming an expert of the pool whose details the caller may not change: nothing of theirs was changed or shown</param>
public sealed record ImportResult(int Added, int Updated, int Kept, IReadOnlyList<ExpertView> Experts, IReadOnlyList<LineError> KeptRows);

public sealed record LineError(int Line, string Message)
{
    /// <summary>As a page lists it.</summary>
    public override string ToString() => $"{Line}: {Message}";
}

/// <summary>The expert pool's API.</summary>
public static class ExpertsEndpoints
{
    public static IServiceCollection AddExperts(this IServiceCollection services) => services.AddSingleton<ExpertService>();

    public static void MapExperts(this IEndpointRouteBuilder app)
    {
        long maxImport = app.ServiceProvider.GetRequiredService<IOptions<ForesightOptions>>().Value.MaxImportBytes;
        var group = app.MapGroup("/api/experts").WithTags("Experts").RequireAuthorization(Policies.Coordinator);
        group.MapGet("/", async (ClaimsPrincipal user, string? q, string? expertise, ExpertService experts) =>
            TypedResults.Ok(await experts.ListAsync(user, q, expertise)))
            .WithSummary(
            "The experts you may see (an admin: all; a coordinator: those you added and those on your surveys' panels); filter with q (name, e-mail, " +
            "organisation) or expertise");
        group.MapGet("/{id:long}", (long id, ExpertService experts) => experts.GetAsync(id).ToHttp(TypedResults.Ok))
            .AddEndpointFilter(new ExpertAccessFilter(ExpertAccess.Standing.Visible))
            .WithSummary("One expert you may see; 404 for any other");
        group.MapPost("/", (ExpertInput body, ClaimsPrincipal user, ExpertService experts) =>
            experts.AddAsync(body, user).ToHttp(v => TypedResults.Created($"/api/experts/{v.Id}", v))).Validate<ExpertInput>();
        group.MapPut("/{id:long}", (long id, ExpertInput body, ClaimsPrincipal user, ExpertService experts) =>
            experts.UpdateAsync(id, body, user).ToHttp(TypedResults.Ok)).AddEndpointFilter(new ExpertAccessFilter(ExpertAccess.Standing.Changeable))
            .Validate<ExpertInput>()
            .WithSummary("Change an expert's details: an admin, or a coordinator of every survey whose panel the expert sits on (403 otherwise)");
        group.MapPost("/import", Import).WithMetadata(new BodyLimit(maxImport)).Accepts<string>("text/csv", "multipart/form-data")
            .WithSummary($"Add or update experts from CSV with the header {string.Join(",", ExpertService.CsvColumns)} (name and email required; expertise " +
            "separated by ';'). A file with any bad row stores nothing. A row naming an expert you may not change is kept as it is (kept_rows).");
    }


    static async Task<Results<Ok<ImportResult>, ProblemHttpResult>> Import(HttpRequest request, ClaimsPrincipal user, ExpertService experts)
    {
        var (text, fileName, error) = await Uploads.ReadTextAsync(request, "experts.csv");
        if (error is not null) return error.ToProblem();
        return await experts.ImportAsync(text!, fileName, user).ToHttp(TypedResults.Ok);
    }
}
