# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from odoo.tests import tagged
from odoo.tools import file_open

from odoo.addons.payment_bawaba.controllers.main import BawabaController
from odoo.addons.payment_bawaba.tests.common import BawabaCommon


# A file as Moyasar gives it (Apple's files are long hex strings), with a final newline: it must be
# served byte for byte, not stripped.
FILE_A = '7B227073704964223A2241424344454631323334353637383930222C2276657273696F6E223A317D\n'
FILE_B = '7B227073704964223A2246454443424131303938373635343332222C2276657273696F6E223A317D'


@tagged('post_install', '-at_install')
class TestApplePayDomainAssociation(BawabaCommon):
    """`/.well-known/apple-developer-merchantid-domain-association`: the file of the enabled Bawaba
    provider of the website's company, for Apple to check the shop's domain."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env['res.company'].create({'name': "Bawaba Company B"})
        cls.provider_b = cls.env['payment.provider'].search(
            [('code', '=', 'bawaba'), ('company_id', '=', cls.company_b.id)])

    def _get_file(self, host=None):
        url = self._build_url(BawabaController._applepay_domain_association_url)
        return self.url_open(url, headers={'Host': host} if host else None, allow_redirects=False)

    def _assert_not_served(self, response):
        """No Bawaba file: 404, or Stripe's own file of that route when `payment_stripe` is there."""
        if 'payment_stripe' not in self.env.registry._init_modules:
            self.assertEqual(response.status_code, 404)
            return
        with file_open('payment_stripe/static/files/apple-developer-merchantid-domain-association') as f:
            self.assertEqual((response.status_code, response.text), (200, f.read()))

    def _enable_provider_b(self, **values):
        self.provider_b.write({
            'state': 'test',
            'bawaba_edge_url': 'https://edge.example.test',
            'bawaba_shop_id': 'shop-b',
            'bawaba_signing_secret': 'secret-b',
            **values,
        })

    def test_the_file_is_served_as_stored(self):
        self.provider.bawaba_applepay_domain_association = FILE_A
        for state in ('test', 'enabled'):
            with self.subTest(state=state):
                self.provider.state = state
                response = self._get_file()
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.headers['Content-Type'], 'text/plain; charset=utf-8')
                self.assertEqual(response.content, FILE_A.encode())

    def test_no_file_is_not_found(self):
        for file in (False, '', ' \n'):
            with self.subTest(file=file):
                self.provider.bawaba_applepay_domain_association = file
                self._assert_not_served(self._get_file())

    def test_a_disabled_providers_file_is_not_served(self):
        self.provider.write({'bawaba_applepay_domain_association': FILE_A, 'state': 'disabled'})
        self._assert_not_served(self._get_file())

    def test_the_first_provider_with_a_file_is_served(self):
        self.provider.write({'sequence': 1, 'bawaba_applepay_domain_association': ' \n'})
        self.provider.copy({
            'name': "Bawaba (second shop)",
            'sequence': 2,
            'state': 'test',
            'bawaba_edge_url': 'https://edge.example.test',
            'bawaba_shop_id': 'second-shop',
            'bawaba_signing_secret': 'second-secret',
            'bawaba_applepay_domain_association': FILE_B,
        })
        self.assertEqual(self._get_file().content, FILE_B.encode())

    def test_another_companys_file_is_not_served(self):
        """The request's company (the public user's, or the website's with `website`) is this
        company: company B's provider is not this shop's."""
        self.provider.bawaba_applepay_domain_association = False
        self._enable_provider_b(bawaba_applepay_domain_association=FILE_B)
        self._assert_not_served(self._get_file())

    def test_each_website_serves_its_companys_file(self):
        if 'website' not in self.env:
            self.skipTest("needs `website`")
        websites = self.env['website']
        site_a = websites.create({'name': "Shop A", 'domain': 'https://a-shop.example'})
        websites.create({'name': "Shop B", 'domain': 'https://b-shop.example', 'company_id': self.company_b.id})
        self.provider.bawaba_applepay_domain_association = FILE_A
        self._enable_provider_b(bawaba_applepay_domain_association=FILE_B)
        self.assertEqual(self._get_file('a-shop.example').content, FILE_A.encode())
        self.assertEqual(self._get_file('b-shop.example').content, FILE_B.encode())
        if 'website_id' in self.provider._fields:  # With `website_payment`: another website's provider.
            self.provider.website_id = site_a
            websites.create({'name': "Shop A2", 'domain': 'https://a2-shop.example'})
            self._assert_not_served(self._get_file('a2-shop.example'))
