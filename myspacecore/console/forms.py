"""Forms of the console's roster pages: they check the shape of input, services do the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from myspacecore.core.phone_numbers import jp_mobile_validate
from myspacecore.tenancy.models import Lease, Operator
from myspacecore.tenancy.scoping import operator_scope


class LeaseForm(forms.ModelForm):
    """A lease entered by hand: its number follows the sign-in's rule, as the import's do."""

    class Meta:
        model = Lease
        fields = ["unit", "phone_number", "attribute", "start_date", "end_date"]

    def clean_phone_number(self):
        # A number the sign-in refuses could never sign in to accept the lease.
        return jp_mobile_validate(self.cleaned_data["phone_number"])


class LeaseImportForm(forms.Form):
    file = forms.FileField(label=_("CSVファイル"), help_text=_("UTF-8 または Shift_JIS、2 MB まで。"))
    # Off unless ticked: a mistyped room number must be an error, not a new unit.
    create_units = forms.BooleanField(
        label=_("登録されていない住戸を作成する"),
        required=False,
        help_text=_("物件に登録されていない部屋番号の住戸を、取り込み時に作成します。プレビューで確認できます。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Platform staff import for an operator they choose; operator staff for their own.
        if user.operator_id is None:
            self.fields["operator"] = forms.ModelChoiceField(
                label=_("導入事業者"), queryset=operator_scope(Operator.objects.all(), user)
            )


class LeaseImportConfirmForm(forms.Form):
    """The token of the previewed file, which stays on the server: the file never comes back from the browser."""

    # The shape of a token (URL-safe base64); whether it is a live one is the service's to say.
    token = forms.RegexField(regex=r"^[A-Za-z0-9_-]{1,64}$", widget=forms.HiddenInput)
