package scimtest

import "strings"

// SCIM URNs.
const (
	SchemaUser                  = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup                 = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser        = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaServiceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	SchemaListResponse          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatchOp               = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError                 = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// Attribute types, mutabilities and returned values (RFC 7643 §7).
const (
	tString    = "string"
	tBoolean   = "boolean"
	tComplex   = "complex"
	tReference = "reference"
	tDateTime  = "dateTime"

	mReadWrite = "readWrite"
	mReadOnly  = "readOnly"
	mImmutable = "immutable"
	mWriteOnly = "writeOnly"
)

// attrDef describes one SCIM attribute.
type attrDef struct {
	Name        string
	Type        string
	Multi       bool
	Required    bool
	CaseExact   bool
	Mutability  string
	Returned    string
	Uniqueness  string
	Description string
	Sub         []*attrDef
	RefTypes    []string
	// common attributes (id, externalId, meta) and the extension pseudo
	// attribute are not listed in /Schemas.
	common bool
}

func (d *attrDef) sub(name string) *attrDef { return findDef(d.Sub, name) }

func findDef(defs []*attrDef, name string) *attrDef {
	for _, d := range defs {
		if strings.EqualFold(d.Name, name) {
			return d
		}
	}
	return nil
}

func str(name, desc string) *attrDef {
	return &attrDef{Name: name, Type: tString, Mutability: mReadWrite, Returned: "default", Uniqueness: "none", Description: desc}
}

func boolean(name, desc string) *attrDef {
	return &attrDef{Name: name, Type: tBoolean, Mutability: mReadWrite, Returned: "default", Uniqueness: "none", Description: desc}
}

func complexAttr(name, desc string, multi bool, sub ...*attrDef) *attrDef {
	return &attrDef{Name: name, Type: tComplex, Multi: multi, Mutability: mReadWrite, Returned: "default", Uniqueness: "none", Description: desc, Sub: sub}
}

func readOnly(d *attrDef) *attrDef         { d.Mutability = mReadOnly; return d }
func immutable(d *attrDef) *attrDef        { d.Mutability = mImmutable; return d }
func caseExact(d *attrDef) *attrDef        { d.CaseExact = true; return d }
func required(d *attrDef) *attrDef         { d.Required = true; return d }
func ofType(t string, d *attrDef) *attrDef { d.Type = t; return d }

func multiValuedSubs(valueDesc string) []*attrDef {
	return []*attrDef{
		str("value", valueDesc),
		str("display", "A human-readable name, primarily used for display purposes."),
		str("type", "A label indicating the attribute's function, e.g. 'work' or 'home'."),
		boolean("primary", "Indicates the 'primary' or preferred attribute value."),
	}
}

// Common attributes (RFC 7643 §3.1).
func commonDefs() []*attrDef {
	id := caseExact(readOnly(str("id", "Unique identifier for the resource, assigned by the service provider.")))
	id.Returned, id.Uniqueness, id.common = "always", "server", true
	ext := caseExact(str("externalId", "Identifier of the resource in the provisioning client."))
	ext.common = true
	meta := readOnly(complexAttr("meta", "Resource metadata.", false,
		caseExact(readOnly(str("resourceType", "The name of the resource type."))),
		readOnly(ofType(tDateTime, str("created", "When the resource was added."))),
		readOnly(ofType(tDateTime, str("lastModified", "When the resource was last updated."))),
		caseExact(readOnly(ofType(tReference, str("location", "The URI of the resource.")))),
	))
	meta.common = true
	return []*attrDef{id, ext, meta}
}

var enterpriseDefs = []*attrDef{
	str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
	str("costCenter", "Identifies the name of a cost center."),
	str("organization", "Identifies the name of an organization."),
	str("division", "Identifies the name of a division."),
	str("department", "Identifies the name of a department."),
	complexAttr("manager", "The user's manager.", false,
		caseExact(str("value", "The id of the SCIM resource representing the user's manager.")),
		readOnly(ofType(tReference, str("$ref", "The URI of the manager's SCIM resource."))),
		readOnly(str("displayName", "The displayName of the user's manager."))),
}

var userCoreDefs = func() []*attrDef {
	userName := required(str("userName", "Unique identifier for the User, typically an email address."))
	userName.Uniqueness = "server"
	password := str("password", "Not supported: Invicti emails new users an invitation to set their own password.")
	password.Mutability, password.Returned = mWriteOnly, "never"
	groups := readOnly(complexAttr("groups", "The teams the user belongs to.", true,
		caseExact(readOnly(str("value", "The id of the group."))),
		readOnly(ofType(tReference, str("$ref", "The URI of the group."))),
		readOnly(str("display", "The group's displayName.")),
		readOnly(str("type", "direct or indirect.")),
	))
	return []*attrDef{
		userName,
		complexAttr("name", "The components of the user's name.", false,
			str("formatted", "The full name."),
			str("familyName", "The family name."),
			str("givenName", "The given name."),
			str("middleName", "The middle name(s)."),
			str("honorificPrefix", "The honorific prefix(es)."),
			str("honorificSuffix", "The honorific suffix(es)."),
		),
		str("displayName", "The name of the user, suitable for display."),
		str("nickName", "The casual way to address the user."),
		ofType(tReference, str("profileUrl", "A URI to the user's online profile.")),
		str("title", "The user's title, such as 'Vice President'."),
		str("userType", "The relationship between the organization and the user."),
		str("preferredLanguage", "The user's preferred written or spoken language."),
		str("locale", "The user's default location."),
		str("timezone", "The user's time zone in IANA format."),
		boolean("active", "The user's administrative status."),
		password,
		complexAttr("emails", "Email addresses for the user.", true, multiValuedSubs("Email address.")...),
		complexAttr("phoneNumbers", "Phone numbers for the user.", true, multiValuedSubs("Phone number.")...),
		complexAttr("addresses", "A physical mailing address for the user.", true,
			str("formatted", "The full mailing address."),
			str("streetAddress", "The street address."),
			str("locality", "The city or locality."),
			str("region", "The state or region."),
			str("postalCode", "The zip code or postal code."),
			str("country", "The country name."),
			str("type", "work, home or other."),
			boolean("primary", "The primary mailing address."),
		),
		groups,
	}
}()

var groupCoreDefs = func() []*attrDef {
	displayName := required(str("displayName", "A human-readable name for the group (an Invicti team)."))
	displayName.Uniqueness = "server"
	return []*attrDef{
		displayName,
		complexAttr("members", "A list of members of the group.", true,
			caseExact(immutable(str("value", "Identifier of the member of this group."))),
			immutable(ofType(tReference, str("$ref", "The URI of the member resource."))),
			readOnly(str("display", "The member's display name.")),
			immutable(str("type", "The type of member: User.")),
		),
	}
}()

// enterpriseAttr is the enterprise extension, modelled as a complex
// attribute named by its URN.
var enterpriseAttr = func() *attrDef {
	d := complexAttr(SchemaEnterpriseUser, "Enterprise User extension.", false, enterpriseDefs...)
	d.common = true
	return d
}()

// resourceKind describes Users or Groups.
type resourceKind struct {
	Name     string // "User" or "Group"
	Endpoint string // "/Users" or "/Groups"
	Schema   string
	Core     []*attrDef // schema attributes (listed in /Schemas)
	All      []*attrDef // Core + common + extensions (for lookups)
	Unique   string     // attribute that must be unique (case-insensitively)
}

var userKind = &resourceKind{
	Name: "User", Endpoint: "/Users", Schema: SchemaUser, Core: userCoreDefs,
	All:    append(append(append([]*attrDef{}, userCoreDefs...), commonDefs()...), enterpriseAttr),
	Unique: "userName",
}

var groupKind = &resourceKind{
	Name: "Group", Endpoint: "/Groups", Schema: SchemaGroup, Core: groupCoreDefs,
	All:    append(append([]*attrDef{}, groupCoreDefs...), commonDefs()...),
	Unique: "displayName",
}

func (d *attrDef) doc() map[string]any {
	m := map[string]any{
		"name":        d.Name,
		"type":        d.Type,
		"multiValued": d.Multi,
		"description": d.Description,
		"required":    d.Required,
		"caseExact":   d.CaseExact,
		"mutability":  d.Mutability,
		"returned":    d.Returned,
		"uniqueness":  d.Uniqueness,
	}
	if d.Type == tReference {
		rt := d.RefTypes
		if len(rt) == 0 {
			rt = []string{"external"}
			if d.Name == "$ref" {
				rt = []string{"User", "Group"}
			}
		}
		m["referenceTypes"] = rt
	}
	if len(d.Sub) > 0 {
		subs := make([]any, 0, len(d.Sub))
		for _, s := range d.Sub {
			subs = append(subs, s.doc())
		}
		m["subAttributes"] = subs
	}
	return m
}

func schemaDoc(id, name, desc string, defs []*attrDef, base string) map[string]any {
	attrs := make([]any, 0, len(defs))
	for _, d := range defs {
		if !d.common {
			attrs = append(attrs, d.doc())
		}
	}
	return map[string]any{
		"schemas":     []any{SchemaSchema},
		"id":          id,
		"name":        name,
		"description": desc,
		"attributes":  attrs,
		"meta": map[string]any{
			"resourceType": "Schema",
			"location":     base + "/Schemas/" + id,
		},
	}
}

func schemaDocs(base string) []map[string]any {
	return []map[string]any{
		schemaDoc(SchemaUser, "User", "User Account (an Invicti user)", userCoreDefs, base),
		schemaDoc(SchemaGroup, "Group", "Group (an Invicti team)", groupCoreDefs, base),
	}
}

func resourceTypeDocs(base string) []map[string]any {
	rt := func(k *resourceKind, desc string) map[string]any {
		return map[string]any{
			"schemas":     []any{SchemaResourceType},
			"id":          k.Name,
			"name":        k.Name,
			"endpoint":    k.Endpoint,
			"description": desc,
			"schema":      k.Schema,
			"meta": map[string]any{
				"resourceType": "ResourceType",
				"location":     base + "/ResourceTypes/" + k.Name,
			},
		}
	}
	return []map[string]any{rt(userKind, "User Account"), rt(groupKind, "Group (team)")}
}

func serviceProviderConfigDoc(base string) map[string]any {
	return map[string]any{
		"schemas":          []any{SchemaServiceProviderConfig},
		"documentationUri": "https://docs.invicti.com/ip/scim-api-reference",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauth2",
			"name":        "OAuth 2.0 Client Credentials",
			"description": "Bearer tokens from " + strings.TrimSuffix(base, scimPrefix) + "/oauth/token with the client-credentials grant.",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	}
}
